#!/usr/bin/env bash
# Third-party clients for tests/test_third_party.py: clients nobody in this project wrote,
# pointed at the simulator to check it from outside.
#   - ccxt (Python, with ccxt.pro WebSocket support) into the project's .venv
#   - wscat (npm) into .peers/ (a local prefix under the project; gitignored)
# Idempotent: skips what is already installed. Needs the pip and npm registries; when an
# install fails (offline), it says so and goes on (the tests skip), unless CI is set: then it
# fails, because CI must run the third-party tests.
# Usage: scripts/install-peers.sh   (VENV=... and PEERS=... override the locations)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PEERS=${PEERS:-.peers}
CCXT_SPEC=${CCXT_SPEC:-ccxt>=4.2}
WSCAT_SPEC=${WSCAT_SPEC:-wscat@6}

failed() {
  if [ -n "${CI:-}" ]; then
    echo "install-peers: $1 failed (CI is set: the third-party tests must run)" >&2
    exit 1
  fi
  echo "install-peers: $1 failed: tests/test_third_party.py will skip what needs it"
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "install-peers: no $VENV/bin/python: run 'make venv' first" >&2
  exit 1
fi
if "$VENV/bin/python" -c 'import ccxt.pro' 2>/dev/null; then
  echo "install-peers: ccxt $("$VENV/bin/python" -c 'import ccxt; print(ccxt.__version__)') already in $VENV"
else
  echo "install-peers: pip install '$CCXT_SPEC' into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --progress-bar off "$CCXT_SPEC" \
    || failed "pip install $CCXT_SPEC"
fi

if [ -x "$PEERS/node_modules/.bin/wscat" ]; then
  echo "install-peers: wscat already in $PEERS/node_modules/.bin"
elif ! command -v npm >/dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "install-peers: npm not found; CI needs it for wscat (install nodejs and npm)" >&2
    exit 1
  fi
  echo "install-peers: npm not found: the wscat tests will be skipped (install nodejs and npm)"
else
  echo "install-peers: npm install --prefix $PEERS $WSCAT_SPEC"
  mkdir -p "$PEERS"
  npm install --prefix "$PEERS" --no-audit --no-fund --loglevel=error "$WSCAT_SPEC" \
    || failed "npm install $WSCAT_SPEC"
fi
echo "install-peers: done"
