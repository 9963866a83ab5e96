#!/usr/bin/env bash
# `make test`: every check CI runs. Assumes `make setup` (the Makefile runs it first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONUNBUFFERED=1 SQLALCHEMY_SILENCE_UBER_WARNING=1

step() { printf '\n== %s\n' "$*"; }

step "1/6 rasa data validate, and no example filed under two intents"
python -m scripts.check_data

step "2/6 train the model (skipped when config, domain and data are unchanged)"
python -m scripts.train_if_changed

# The targets of issue 16 (docs/nlu.md): intent macro-F1 >= 0.95 on every held-out set and >= 0.93 on
# their informal parts, both above the linear peer; FAQ topics >= 0.93 end to end; no wrong answer to >= 90%
# of the out-of-knowledge questions. The model is deterministic, so a retrain cannot move the figures;
# about 40 s (one model load, ~1,300 parses, the peer trained in process).
step "3/6 NLU on the held-out test sets (intents >= 0.95, informal parts >= 0.93, above the linear peer, FAQ topics >= 0.93, out of knowledge >= 0.90, entities >= 0.95)"
python -m scripts.evaluate_nlu --min-macro-f1 0.95 --min-informal-f1 0.93 --min-lead-over-peer 0.005 \
  --min-faq-f1 0.93 --min-out-of-knowledge 0.90 --min-entity-f1 0.95

step "4/6 story tests (rasa test, failing on any prediction error)"
rasa test core --stories tests/stories --model models/assistant.tar.gz \
  --fail-on-prediction-errors --no-plot --out results/core

step "5/6 pytest: unit, service, action, conversation, security, cluster and browser tests"
bash scripts/install_browser.sh   # Debian's chromium for tests/browser (idempotent)
bash scripts/install_nginx.sh     # Debian's nginx for tests/cluster (idempotent)
python -m pytest tests

# Issue 17: the assistant must behave the same without the speed-ups of Rasa internals (about 100 s).
step "6/6 the conversation tests again with every speed-up off (RASA_SPEEDUPS=off)"
RASA_SPEEDUPS=off python -m pytest -q tests/conversation
