"""Registration service (Sistem Informasi Satu Data Vaksinasi): targets, sites, slots, appointments."""
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "registration_alembic_version"
