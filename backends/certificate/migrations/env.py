from backends.certificate import VERSION_TABLE
from backends.certificate.orm import Base
from backends.shared.migration_env import run_migrations

run_migrations(Base.metadata, VERSION_TABLE)
