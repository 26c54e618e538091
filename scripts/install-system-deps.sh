#!/usr/bin/env bash
# Install the Debian/Ubuntu packages that `jupyter nbconvert --to pdf` needs (XeLaTeX, pandoc),
# the DejaVu fonts (box-drawing and check-mark glyphs), fonts-nanum (NanumGothicCoding for Hangul:
# Upbit's error messages are Korean) and poppler-utils (pdftotext, used by the tests).
# Idempotent: does nothing when xelatex, pandoc, pdftotext and the fonts are already present.
#
#   scripts/install-system-deps.sh            # the TeX route (default)
#   scripts/install-system-deps.sh chromium   # the optional HTML -> Chromium route
#   scripts/install-system-deps.sh node       # nodejs and npm, for the wscat tests
#   scripts/install-system-deps.sh venv       # python3-venv, when `python3 -m venv` cannot work
#   scripts/install-system-deps.sh cpp        # g++, cmake, make, Boost (Beast/Asio), OpenSSL: cpp/btcrec
#
# Exit status: 0 done or nothing to do, 3 not a Debian/Ubuntu system (nothing installed),
# 1 any other failure.
set -euo pipefail

what="${1:-tex}"
case "$what" in
  tex)
    packages=(texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc
              fonts-dejavu-core fonts-nanum poppler-utils)
    commands=(xelatex pandoc pdftotext)
    ;;
  chromium)
    packages=(chromium fonts-dejavu-core poppler-utils)
    commands=(chromium pdftotext)
    ;;
  node)
    # node and npm for wscat (tests/test_third_party.py, installed by scripts/install-peers.sh).
    packages=(nodejs npm)
    commands=(node npm)
    ;;
  venv)
    pyver=$("${PYTHON:-python3}" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3)
    packages=(python3-venv "python${pyver}-venv")
    commands=()
    ;;
  cpp)
    # The C++ twin of the recorder (cpp/, `make cpp`): a compiler and CMake; Boost.Beast/Asio
    # and OpenSSL are headers and libraries, not commands: checked as files below.
    packages=(g++ cmake make libboost-dev libssl-dev)
    commands=(g++ cmake make)
    ;;
  *)
    echo "usage: $0 [tex|chromium|node|venv|cpp]" >&2
    exit 2
    ;;
esac

fonts=$(fc-list : family 2>/dev/null || true)  # captured first: `fc-list | grep -q` + pipefail misfires
missing=()
for c in "${commands[@]}"; do
  command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done
if [ "$what" = venv ]; then
  missing+=("the venv module's pip (ensurepip)")
elif [ "$what" = cpp ]; then
  [ -f /usr/include/boost/beast.hpp ] || missing+=("Boost.Beast headers (libboost-dev)")
  [ -f /usr/include/openssl/ssl.h ] || missing+=("OpenSSL headers (libssl-dev)")
# The mono font is a file, not a command: check it too.
elif [ "$what" != node ] && [ "$what" != cpp ] && ! grep -qi "DejaVu Sans Mono" <<<"$fonts"; then
  missing+=("DejaVu Sans Mono font")
fi
# Hangul (Upbit's error messages are Korean): the TeX template uses NanumGothicCoding for it.
if [ "$what" = tex ] && ! grep -qi "NanumGothicCoding" <<<"$fonts"; then
  missing+=("NanumGothicCoding font (Hangul)")
fi

if [ "${#missing[@]}" -eq 0 ]; then
  case "$what" in
    tex) echo "sysdeps: ${commands[*]} and the fonts (DejaVu, Nanum) already present; nothing to install." ;;
    cpp) echo "sysdeps: ${commands[*]}, Boost.Beast and OpenSSL headers already present; nothing to install." ;;
    *) echo "sysdeps: ${commands[*]} already present; nothing to install." ;;
  esac
  exit 0
fi

echo "sysdeps: missing: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<MSG
sysdeps: this is not a Debian/Ubuntu system (no apt-get), so nothing was installed.
  Install by hand the equivalents of: ${packages[*]}
  (a TeX distribution with XeLaTeX and the fvextra/xurl packages, pandoc, the DejaVu fonts,
  poppler's pdftotext), or use the Chromium route described in README.md.
MSG
  exit 3
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
  echo "sysdeps: not root, using sudo."
else
  echo "sysdeps: not root and sudo is not available; run as root: apt-get install --no-install-recommends ${packages[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "sysdeps: apt-get update"
"${SUDO[@]}" apt-get update -q
if [ "$what" = tex ]; then
  echo "sysdeps: installing (about 160 MB download, 600 MB on disk, about a minute): ${packages[*]}"
else
  echo "sysdeps: installing: ${packages[*]}"
fi
start=$(date +%s)
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
echo "sysdeps: installed ${packages[*]} in $(( $(date +%s) - start )) s."
