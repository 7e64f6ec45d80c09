#!/usr/bin/env bash
# Build the documentation: warnings are errors, and every tutorial is executed.
#
#   bash docs/build.sh           # reuse executed tutorials that did not change (cache)
#   bash docs/build.sh --clean   # from scratch, as CI builds it
#
# Needs the docs extra: pip install ".[docs]". Offline: no intersphinx, and the
# tutorials run on the bundled data with SCCLAST_OFFLINE=1 (set in docs/conf.py).
# Open docs/_build/html/index.html afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--clean" ]; then
    rm -rf docs/_build docs/api/generated
elif [ -n "${1:-}" ]; then
    echo "usage: bash docs/build.sh [--clean]" >&2
    exit 2
fi

# the interpreter of the environment scclast is installed in, when called from outside it
python="${PYTHON:-python3}"
if [ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
    python=.venv/bin/python
fi

started=$SECONDS
"$python" -m sphinx -W --keep-going -b html docs docs/_build/html
echo "docs: built in $((SECONDS - started)) s: docs/_build/html/index.html" >&2
