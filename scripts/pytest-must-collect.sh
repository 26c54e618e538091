#!/usr/bin/env bash
# Run pytest with the given arguments; fail when it collects nothing.
#
# Why: pytest exits 5 when it collects no test, and a test target that treats 5 as success
# turns a broken collection (a renamed folder, a notebook glob that matches nothing) into a
# green run. Used by `make test` for `pytest tests` and `pytest --nbmake notebooks/`.
# PYTEST names the pytest to run (default: .venv/bin/pytest beside this script's project).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
pytest=${PYTEST:-$here/.venv/bin/pytest}
"$pytest" "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test: pytest $* collected no test: that is a failure (a folder renamed or a glob that matches nothing?)" >&2
fi
exit "$rc"
