"""The body of every service's Alembic env.py: online migrations with a per-service version table.

Both services may share one PostgreSQL database in production, so each keeps its own version
table (`<service>_alembic_version`). SQLite needs batch mode for ALTER TABLE.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData

from backends.shared.database import make_engine


def run_migrations(metadata: MetaData, default_version_table: str) -> None:
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    version_table = config.attributes.get("version_table", default_version_table)
    options = dict(target_metadata=metadata, version_table=version_table,
                   render_as_batch=url.startswith("sqlite"), compare_type=True,
                   # The other service's tables may live in the same database: never touch them.
                   include_name=lambda name, type_, _parent: type_ != "table" or name in metadata.tables)
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
