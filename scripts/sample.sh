#!/usr/bin/env bash
# Set up, then report the bundled sample submission's coverage of the Researcher Development Concordat.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
nlp-tagger check corpora/samples/uol-hreir-12-year-summary.pdf --framework concordat-2019 --out results/ \
  --html results/uol-hreir-12-year-summary.concordat-2019.html --annotate results/uol-hreir-12-year-summary.annotated.pdf
