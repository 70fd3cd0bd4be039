#!/usr/bin/env bash
# Create .venv (Python 3.11) and install nlp-tagger with the CPU build of torch. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), "nlp-tagger needs Python 3.11, found %s" % sys.version.split()[0]'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# torch first and pinned: a plain `torch` requirement would pull a multi-GB CUDA build
python -m pip install --quiet "torch==2.13.0"
if [ -n "${EXTRAS:-}" ]; then python -m pip install --quiet -e ".[$EXTRAS]"; else python -m pip install --quiet -e .; fi
