"""Applying and checking Alembic migrations from code (CLI, crawl start-up, tests)."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config as AlembicConfig

from crawler.config import PROJECT_ROOT
from storage.db import sqlalchemy_url

logger = logging.getLogger(__name__)

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic configuration pointed at ``url``."""
    cfg = AlembicConfig(str(ALEMBIC_INI))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def available() -> bool:
    """Whether the migration scripts are at hand (not so inside a scrapyd egg)."""
    return ALEMBIC_INI.is_file() and (PROJECT_ROOT / "migrations").is_dir()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise when the models and the migrated database disagree (``alembic check``)."""
    command.check(alembic_config(url))


def downgrade(url: str, revision: str) -> None:
    """Revert migrations down to ``revision`` (``base`` empties the schema)."""
    command.downgrade(alembic_config(url), revision)
