#!/usr/bin/env bash
# `make test`: every check CI runs. Assumes `make setup` (the Makefile runs it first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH" PYTHONUNBUFFERED=1 SQLALCHEMY_SILENCE_UBER_WARNING=1

step() { printf '\n== %s\n' "$*"; }

step "1/4 rasa data validate"
rasa data validate --domain domain --data data --config config.yml

step "2/4 train the model (skipped when config, domain and data are unchanged)"
python -m scripts.train_if_changed

step "3/4 story tests (rasa test, failing on any prediction error)"
rasa test core --stories tests/stories --model models/assistant.tar.gz \
  --fail-on-prediction-errors --no-plot --out results/core

step "4/4 pytest: unit, service, action and conversation tests"
python -m pytest tests
