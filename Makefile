# The two commands of the README: `make run` (chat with the assistant) and `make test`.
PYTHON := .venv/bin/python
export PYTHONUNBUFFERED := 1

.PHONY: setup run services train test lock check-data evaluate benchmark-nlu install-browser notify benchmark benchmark-hostile fuzz

setup:            ## create .venv with Python 3.10 and the pinned dependencies
	@bash scripts/bootstrap.sh

run: setup        ## train if needed, seed SQLite, start every service and open a chat
	@$(PYTHON) -m scripts.run

services: setup   ## start every service without a chat (for the REST API or another client)
	@$(PYTHON) -m scripts.train_if_changed
	@$(PYTHON) -m backends.manage init
	@.venv/bin/honcho start -f Procfile

.PHONY: cluster
cluster: setup    ## production layout here: PostgreSQL, Redis, 2 Rasa + 2 action servers behind nginx (docs/production.md)
	@bash scripts/install_nginx.sh
	@$(PYTHON) -m scripts.train_if_changed
	@$(PYTHON) -m scripts.cluster

train: setup
	@$(PYTHON) -m scripts.train_if_changed

test: setup       ## everything CI runs
	@bash scripts/test.sh

.PHONY: test-fast
test-fast: setup  ## the unit, service and action tiers but the slow queue tests: no model, browser or cluster (docs/testing.md)
	@$(PYTHON) -m pytest -m "(unit or service or actions) and not slow" tests/unit tests/service tests/actions

check-data: setup ## rasa data validate + examples filed under two intents
	@$(PYTHON) -m scripts.check_data

evaluate: train   ## held-out NLU test sets + 3-fold cross-validation; report in results/nlu/report.md
	@$(PYTHON) -m scripts.evaluate_nlu --cross-validation

benchmark-nlu: train ## NLU parse latency (p50/p95/p99) on this machine
	@$(PYTHON) -m scripts.benchmark_nlu

benchmark: train  ## load test, varied texts: assistant (cache on/off, speed-ups off) vs stock `rasa init`, paced + capacity + per-patch (~20 min; docs/benchmark.md)
	@bash scripts/benchmark_venv.sh
	@.venv-bench/bin/python bench/run.py

benchmark-hostile: train ## over-long messages vs an ordinary user: latency, reply time, Rasa RSS (bench/long_messages.py)
	@$(PYTHON) bench/long_messages.py

fuzz: train        ## the security level with the full 10,000-message fuzz (tests/security)
	@SECURITY_FUZZ_MESSAGES=10000 $(PYTHON) -m pytest -s tests/security

notify: setup     ## send a notification campaign: make notify TEMPLATE=invitation ARGS=--dry-run (docs/notifications.md)
	@$(PYTHON) -m backends.notifications.send $(TEMPLATE) $(if $(DRY_RUN),--dry-run) $(ARGS)

.PHONY: notify-worker templates benchmark-notify
notify-worker: setup ## a notification worker (needs NOTIFICATIONS_BROKER_URL; run several, on several machines)
	@.venv/bin/dramatiq backends.notifications.worker --processes 1 --threads $${NOTIFY_THREADS:-8}

templates: setup  ## check the WhatsApp templates and print what to submit to Meta
	@$(PYTHON) -m backends.notifications.templates check
	@$(PYTHON) -m backends.notifications.templates submission

benchmark-notify: setup ## recipients/s of a 100,000-recipient campaign, 1 vs 4 workers (RabbitMQ, Redis, PostgreSQL)
	@$(PYTHON) -m scripts.benchmark_notifications

install-browser:  ## Debian's chromium for the browser tests
	@bash scripts/install_browser.sh

lock:             ## re-resolve requirements.txt into requirements.lock (after changing a pin)
	rm -rf /tmp/vaksinbot-lock && "$$(bash scripts/find_python.sh)" -m venv /tmp/vaksinbot-lock
	/tmp/vaksinbot-lock/bin/pip install -q -r requirements.txt
	/tmp/vaksinbot-lock/bin/pip freeze > requirements.lock
