"""Applying and checking Alembic migrations from code (CLI, crawl start-up, tests).

Checking that a database is current (every read command does it) needs neither Alembic
nor the scripts' code: the head is the newest script's file name and the database's
revision one row of ``alembic_version``. Alembic is imported where migrations run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import text

from crawler.config import bundled
from storage.db import make_engine, sqlalchemy_url

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

logger = logging.getLogger(__name__)

ALEMBIC_INI = bundled("alembic.ini")
"""The Alembic configuration; its ``script_location`` is the ``migrations`` beside it."""

VERSIONS = ALEMBIC_INI.parent / "migrations" / "versions"
"""The migration scripts, each named after its revision (``0017_what_it_does.py``)."""


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic configuration pointed at ``url``."""
    from alembic.config import Config as AlembicConfig

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
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise when the models and the migrated database disagree (``alembic check``)."""
    from alembic import command

    command.check(alembic_config(url))


def downgrade(url: str, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` empties the schema)."""
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def script_revisions() -> list[str]:
    """The revisions of the migration scripts, oldest first, from their file names (each
    script's ``revision`` is its name's number and revises the one before: a test holds
    the scripts to that)."""
    return sorted(path.name.partition("_")[0] for path in VERSIONS.glob("[0-9]*_*.py"))


def head_revision() -> str:
    """The revision this code needs (the newest migration script)."""
    revisions = script_revisions()
    if not revisions:
        raise RuntimeError(f"no migration scripts in {VERSIONS}")
    return revisions[-1]


def current_revision(url: str) -> str | None:
    """The database's schema revision (None: no newsingest schema yet). Reads only."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            if conn.scalar(text("SELECT to_regclass('alembic_version')")) is None:
                return None
            version: str | None = conn.scalar(text("SELECT version_num FROM alembic_version"))
            return version
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
    if have not in script_revisions():
        raise SchemaNotCurrent(
            f"database schema is at {have}, newer than this newsingest knows (up to {need}): "
            "install the newsingest that migrated it"
        )
    raise SchemaNotCurrent(
        f"database schema is at {have}, this newsingest needs {need}: run newsingest db upgrade"
    )
