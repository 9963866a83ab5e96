"""The certificate service (PeduliLindungi): vaccination status and certificates behind an OTP login.

Layout: domain.py (rules) -> orm.py (tables) -> services.py (use cases) -> api.py (HTTP);
sms.py and rendering.py are the adapters to the SMS gateway and to the PNG certificate.
"""
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "certificate_alembic_version"
