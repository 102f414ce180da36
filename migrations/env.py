"""Alembic environment: runs migrations against the application's database.

The URL comes from, in order: a connection handed over by `storage.migrate` in
``config.attributes["connection"]``, the ``sqlalchemy.url`` option set by it, or the
application's configuration (``NEWSINGEST_DATABASE_URL``, else the embedded server).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.models import Base
from storage.search_index import PREFIX as SEGMENT_PREFIX

config = context.config
target_metadata = Base.metadata


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave the search index's segments out of ``alembic check``: which exist depends on
    the data (`storage.search_index`), not on the models."""
    return not (type_ == "index" and name is not None and name.startswith(SEGMENT_PREFIX))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include,
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
