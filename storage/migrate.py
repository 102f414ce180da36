"""Applying and checking Alembic migrations from code (CLI, crawl start-up, tests)."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from crawler.config import bundled
from storage.db import make_engine, sqlalchemy_url

logger = logging.getLogger(__name__)

ALEMBIC_INI = bundled("alembic.ini")
"""The Alembic configuration; its ``script_location`` is the ``migrations`` beside it."""


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic configuration pointed at ``url``."""
    cfg = AlembicConfig(str(ALEMBIC_INI))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


class SchemaNotCurrent(RuntimeError):
    """The database's schema revision is not the one this code needs; the message says
    which command to run."""


def available() -> bool:
    """Whether the migration scripts are at hand (not so inside a scrapyd egg)."""
    return ALEMBIC_INI.is_file() and (ALEMBIC_INI.parent / "migrations").is_dir()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise when the models and the migrated database disagree (``alembic check``)."""
    command.check(alembic_config(url))


def downgrade(url: str, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` empties the schema)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The revision this code needs (the newest migration script)."""
    head = ScriptDirectory.from_config(AlembicConfig(str(ALEMBIC_INI))).get_current_head()
    assert head is not None
    return head


def current_revision(url: str) -> str | None:
    """The database's schema revision (None: no newsingest schema yet). Reads only."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def check_current(url: str) -> None:
    """Raise SchemaNotCurrent unless the database is at `head_revision`; never migrates
    (read commands run with read-only roles)."""
    need = head_revision()
    have = current_revision(url)
    if have == need:
        return
    if have is None:
        raise SchemaNotCurrent(
            f"the database has no newsingest schema, this newsingest needs {need}: "
            "run newsingest db upgrade"
        )
    scripts = ScriptDirectory.from_config(AlembicConfig(str(ALEMBIC_INI)))
    try:
        scripts.get_revision(have)
    except CommandError:
        raise SchemaNotCurrent(
            f"database schema is at {have}, newer than this newsingest knows (up to {need}): "
            "install the newsingest that migrated it"
        ) from None
    raise SchemaNotCurrent(
        f"database schema is at {have}, this newsingest needs {need}: run newsingest db upgrade"
    )
