"""Alembic environment: runs migrations against the application's database.

The URL comes from, in order: a connection handed over by `storage.migrate` in
``config.attributes["connection"]``, the ``sqlalchemy.url`` option set by it, or the
application's configuration (``NEWSINGEST_DATABASE_URL``, else the embedded server).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from crawler.config import Config
        from storage.db import resolve_url

        app = Config.from_env()
        url = resolve_url(app.database_url, app.data_dir)
    from storage.db import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `newsingest db upgrade`")
run_migrations_online()
