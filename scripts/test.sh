#!/usr/bin/env bash
# Set up with the test extras (and the PostgreSQL server the batch tests start), then run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "note: PostgreSQL is not installed; its batch test will be skipped" >&2
  fi
fi
EXTRAS=test bash scripts/setup.sh
. .venv/bin/activate
python -m pytest -q "$@"
