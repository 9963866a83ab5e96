from backends.registration import VERSION_TABLE
from backends.registration.orm import Base
from backends.shared.migration_env import run_migrations

run_migrations(Base.metadata, VERSION_TABLE)
