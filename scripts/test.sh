#!/usr/bin/env bash
# Set up with the test extras, plus the PostgreSQL server the batch tests start and the Chromium
# the HTML report tests drive (Debian packages), then run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "note: ${missing[*]} not installed; the tests that need them will be skipped" >&2
  fi
fi
EXTRAS=test bash scripts/setup.sh
. .venv/bin/activate
python -m pytest -q "$@"
