# btclib: the two set-up commands of the README are `make report` and `make test`.
# Every target installs what it needs (a .venv with the pip packages; the Debian packages for
# PDF export), says what it installs, and skips what is already there.
#
#   make report           run every notebooks/step_*.ipynb: outputs/<name>.pdf and outputs/report.pdf
#   make test             ruff, pytest tests, pytest --nbmake notebooks/ (short runs, simulator)
#   make report-html      the route without TeX: HTML printed to PDF by Debian's chromium
#   make soak             a 10-minute randomized fault soak (SOAK_DURATION, SOAK_SEED)
#   make lint | strip | clean | clean-data | bench | venv | sysdeps | peers | help
#
# Variables: BTCLIB_DURATION, BTCLIB_SOURCE (passed to the notebooks through the environment;
# unset means the notebooks' own defaults), CELL_TIMEOUT (per-cell limit, s), PYTHON.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || echo python3)
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.btclib-installed
NBCONVERT_CONFIG := notebooks/nbconvert_config.py
# Per-cell time limit (nbconvert's own default is no limit at all).
CELL_TIMEOUT ?= 600
# Short runs for the tests, against the built-in simulator.
TEST_DURATION ?= 2
TEST_CELL_TIMEOUT ?= 120

.PHONY: help venv sysdeps peers test lint report report-html strip clean clean-data bench soak

help:
	@echo "make report   - install what is needed, run every notebook, write outputs/*.pdf"
	@echo "make test     - install what is needed, run ruff, pytest and the notebooks (nbmake)"
	@echo "other targets: report-html soak lint strip clean clean-data bench venv sysdeps peers"

# ---------------------------------------------------------------------------------------------
# Installation
# ---------------------------------------------------------------------------------------------

# The stamp is older than pyproject.toml when the dependencies changed: reinstall then only.
$(STAMP): pyproject.toml
	@if [ ! -x "$(VPY)" ]; then
	  if ! "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
	    echo "venv: Python >= 3.11 is needed; '$(PYTHON)' is $$("$(PYTHON)" -V 2>&1 || echo missing)." >&2
	    echo "venv: install python3.11 (Debian 12 / Ubuntu 24.04: apt-get install python3) or run 'make PYTHON=/path/to/python3.11 ...'" >&2
	    exit 1
	  fi
	  echo "venv: creating $(VENV) with $(PYTHON) ($$("$(PYTHON)" -V 2>&1))"
	  if ! "$(PYTHON)" -m venv "$(VENV)"; then
	    echo "venv: 'python -m venv' failed (Debian/Ubuntu ship it separately): installing python3-venv"
	    rm -rf "$(VENV)"
	    PYTHON="$(PYTHON)" scripts/install-system-deps.sh venv
	    "$(PYTHON)" -m venv "$(VENV)"
	  fi
	fi
	echo "venv: pip install -e '.[notebooks,dev]' into $(VENV) (pyproject.toml is newer than the last install)"
	"$(VPY)" -m pip install --quiet --disable-pip-version-check --upgrade pip
	log=$$(mktemp); rc=0
	"$(VPY)" -m pip install --disable-pip-version-check --progress-bar off -e '.[notebooks,dev]' >"$$log" 2>&1 || rc=$$?
	if [ "$$rc" -ne 0 ]; then cat "$$log" >&2; rm -f "$$log"; echo "venv: pip install failed" >&2; exit "$$rc"; fi
	grep -E '^(Successfully installed|ERROR)' "$$log" | sed 's/^/venv: /' || echo "venv: nothing new to install"
	rm -f "$$log"
	"$(VPY)" -c 'import btclib' || { echo "venv: btclib does not import after install" >&2; exit 1; }
	touch "$(STAMP)"

venv: $(STAMP)
	@echo "venv: $(VENV) is ready ($$("$(VPY)" -V), btclib installed in editable mode)"

sysdeps:
	@rc=0; scripts/install-system-deps.sh tex || rc=$$?
	if [ "$$rc" -eq 3 ]; then
	  echo "sysdeps: continuing without the TeX packages: PDF export will not work here (see README, 'The report (PDF)')."
	elif [ "$$rc" -ne 0 ]; then
	  exit "$$rc"
	fi

# Third-party clients that tests/test_third_party.py points at the simulator: ccxt (pip, into
# .venv) and wscat (npm, into .peers/), with Debian's nodejs and npm when node is missing.
peers: venv
	@rc=0; scripts/install-system-deps.sh node || rc=$$?
	if [ "$$rc" -eq 3 ]; then
	  echo "peers: not a Debian/Ubuntu system: install node and npm by hand for the wscat tests."
	elif [ "$$rc" -ne 0 ]; then
	  exit "$$rc"
	fi
	scripts/install-peers.sh

# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

lint: venv
	@echo "lint: ruff check btclib tests"
	"$(VENV)/bin/ruff" check btclib tests

test: venv sysdeps peers cpp
	@export BTCLIB_DURATION=$(TEST_DURATION) BTCLIB_SOURCE=sim
	echo "test: ruff check btclib tests (tests/data holds deliberately long-lined fixtures)"
	"$(VENV)/bin/ruff" check btclib tests
	echo "test: pytest tests (BTCLIB_DURATION=$$BTCLIB_DURATION BTCLIB_SOURCE=$$BTCLIB_SOURCE)"
	PYTEST="$(VENV)/bin/pytest" scripts/pytest-must-collect.sh tests
	if compgen -G 'notebooks/*.ipynb' >/dev/null; then
	  # The notebooks write their data files into BTCLIB_OUTPUTS: a scratch folder here, so the
	  # tests never append simulated lines to the user's outputs/.
	  export BTCLIB_OUTPUTS=$$(mktemp -d -t btclib-nbmake.XXXXXX); trap 'rm -rf "$$BTCLIB_OUTPUTS"' EXIT
	  echo "test: pytest --nbmake notebooks/ (per-cell timeout $(TEST_CELL_TIMEOUT) s, data into $$BTCLIB_OUTPUTS)"
	  PYTEST="$(VENV)/bin/pytest" scripts/pytest-must-collect.sh --nbmake --nbmake-timeout=$(TEST_CELL_TIMEOUT) -p no:cacheprovider notebooks/
	else
	  echo "test: no notebooks/*.ipynb: the report's notebooks are missing" >&2; exit 1
	fi
	echo "test: all passed"

# ---------------------------------------------------------------------------------------------
# The C++ twin of the recorder (cpp/, issue 15)
# ---------------------------------------------------------------------------------------------

# Installs g++, cmake, Boost (Beast/Asio) and OpenSSL headers when missing, then builds
# cpp/build/btcrec (Release, -O2). CMake's own dependency tracking in cpp/build makes a second
# `make cpp` a no-op when no source changed.
.PHONY: cpp
cpp:
	@rc=0; scripts/install-system-deps.sh cpp || rc=$$?
	if [ "$$rc" -eq 3 ]; then
	  echo "cpp: not a Debian/Ubuntu system: install g++, cmake, Boost >= 1.74 and OpenSSL headers by hand."
	elif [ "$$rc" -ne 0 ]; then
	  exit "$$rc"
	fi
	start=$$(date +%s)
	if [ ! -f cpp/build/CMakeCache.txt ]; then
	  echo "cpp: cmake -S cpp -B cpp/build -DCMAKE_BUILD_TYPE=Release"
	  cmake -S cpp -B cpp/build -DCMAKE_BUILD_TYPE=Release >/dev/null
	fi
	cmake --build cpp/build -j "$$(nproc 2>/dev/null || echo 2)"
	echo "cpp: cpp/build/btcrec is up to date ($$(( $$(date +%s) - start )) s)"

# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

# Execute and export in one go, per notebook: outputs/<notebook>.pdf. The notebooks read
# BTCLIB_DURATION and BTCLIB_SOURCE from the environment (their own defaults when unset).
# btclib/report/build.py is the one implementation (`python -m btclib report` on Windows and macOS):
# per notebook `jupyter nbconvert --config $(NBCONVERT_CONFIG) --execute --to pdf
# --ExecutePreprocessor.timeout=$(CELL_TIMEOUT) --output-dir outputs`, or the Chromium route
# where there is no xelatex.
report: venv sysdeps
	@"$(VPY)" -m btclib.report --timeout $(CELL_TIMEOUT) --output-dir outputs

# The route without TeX (documented, not part of CI): HTML with wrapping CSS, printed to PDF
# by Debian's chromium. Writes outputs/html/<notebook>.html and .pdf.
report-html: venv
	@scripts/install-system-deps.sh chromium
	start=$$(date +%s); shopt -s nullglob; notebooks=(notebooks/step_*.ipynb)
	if [ "$${#notebooks[@]}" -eq 0 ]; then echo "report-html: no notebooks/step_*.ipynb yet"; exit 0; fi
	"$(VPY)" -m btclib.report.nbexport --config "$(NBCONVERT_CONFIG)" --to chromium-pdf --timeout $(CELL_TIMEOUT) --output-dir outputs/html "$${notebooks[@]}"
	echo "report-html: finished in $$(( $$(date +%s) - start )) s"; ls -l outputs/html/ | sed 's/^/  /'

# ---------------------------------------------------------------------------------------------
# Housekeeping
# ---------------------------------------------------------------------------------------------

# Notebooks are stored without outputs (tests/test_notebooks_clean.py checks it).
strip: venv
	@shopt -s nullglob; notebooks=(notebooks/*.ipynb)
	if [ "$${#notebooks[@]}" -eq 0 ]; then echo "strip: no notebooks"; exit 0; fi
	echo "strip: clearing outputs and execution counts of $${notebooks[*]}"
	"$(VENV)/bin/jupyter" nbconvert --clear-output --inplace "$${notebooks[@]}"

# Generated files only: the report's PDFs and caches. Never the .venv, never notebooks, and
# never recorded data (SPEC: nothing recorded is removed unless asked: `make clean-data`).
clean:
	@echo "clean: outputs/*.pdf, the report's manifest and executed notebooks, outputs/html/, Python/pytest/ruff/Jupyter caches"
	rm -f outputs/*.pdf outputs/*.tex outputs/report-manifest.json
	rm -rf outputs/html outputs/*_files outputs/executed
	find . -path ./.venv -prune -o \( -name __pycache__ -o -name .pytest_cache -o -name .ruff_cache -o -name .ipynb_checkpoints \) -type d -print0 | xargs -0 rm -rf

clean-data:
	@echo "clean-data: removing recorded data: outputs/stream-data-*.txt outputs/*.events.jsonl"
	rm -f outputs/stream-data-*.txt outputs/*.events.jsonl

bench: venv
	"$(VPY)" -m btclib bench

# A randomized fault soak against the simulator (SOAK_DURATION seconds, SOAK_SEED to reproduce one).
SOAK_DURATION ?= 600
soak: venv
	"$(VPY)" -m btclib soak --duration $(SOAK_DURATION) $(if $(SOAK_SEED),--seed $(SOAK_SEED))
