#!/usr/bin/env bash
# `make test`: every check CI runs. Assumes `make setup` (the Makefile runs it first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONUNBUFFERED=1 SQLALCHEMY_SILENCE_UBER_WARNING=1

step() { printf '\n== %s\n' "$*"; }

step "1/5 rasa data validate, and no example filed under two intents"
python -m scripts.check_data

step "2/5 train the model (skipped when config, domain and data are unchanged)"
python -m scripts.train_if_changed

step "3/5 NLU on the held-out test sets (targets: macro-F1 >= 0.95, informal >= 0.92, entities >= 0.95)"
python -m scripts.evaluate_nlu --min-macro-f1 0.95 --min-informal-f1 0.92 --min-entity-f1 0.95

step "4/5 story tests (rasa test, failing on any prediction error)"
rasa test core --stories tests/stories --model models/assistant.tar.gz \
  --fail-on-prediction-errors --no-plot --out results/core

step "5/5 pytest: unit, service, action, conversation, cluster and browser tests"
bash scripts/install_browser.sh   # Debian's chromium for tests/browser (idempotent)
bash scripts/install_nginx.sh     # Debian's nginx for tests/cluster (idempotent)
python -m pytest tests
