from backends.notifications import VERSION_TABLE
from backends.notifications.orm import Base
from backends.shared.migration_env import run_migrations

run_migrations(Base.metadata, VERSION_TABLE)
