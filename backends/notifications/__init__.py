"""The notification service: opt-out preferences, the delivery ledger and campaign runs.

Layout: domain.py (templates, cohort dates, ledger rule, rate limiter) -> orm.py (tables) ->
services.py (use cases) -> sender.py (one campaign run) -> api.py (HTTP), send.py (command),
scheduler.py (day-before reminders); cohorts.py and rasa.py are the HTTP adapters to the owning
backends and to Rasa's external-events API. Operator guide: docs/notifications.md.
"""
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "notifications_alembic_version"
