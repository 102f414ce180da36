"""Configuration: the one module that reads environment variables.

Everything else receives plain values from a `Config`. Variables:

- ``NEWSINGEST_DATABASE_URL``: any PostgreSQL URL; unset means the embedded server.
- ``NEWSINGEST_DATA_DIR``: embedded database and local state (spool, logs);
  default: the user's data directory (``~/.local/share/newsingest`` on Linux).
- ``NEWSINGEST_SOURCES``: path of the sources file; default: the bundled ``sources.yaml``.
- ``NEWSINGEST_CONTACT``: contact (URL or e-mail) put in the User-Agent.
- ``NEWSINGEST_REDIS_URL``: Redis of distributed crawls (scrapy-redis).
- ``NEWSINGEST_PAGE_STORE``: where raw pages are kept, ``database`` (``pages.html_zlib``,
  the default) or ``warc`` (WARC files, `storage.pagestore`).
- ``NEWSINGEST_PAGE_WARC_DIR``: the folder of those WARC files; default: ``pages/`` in
  the data directory. Every command that reads pages (``reextract``, ``export --format
  warc``) finds them there, whichever store writes new ones.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""Checkout root (when the project is installed editable)."""

PACKAGED_DATA = Path(__file__).resolve().parent / "bundled"
"""Where a built wheel or egg carries the top-level data files (see setup.py)."""


def bundled(name: str) -> Path:
    """A top-level data file (``alembic.ini``, ``migrations``, ``sources.yaml``): the copy
    inside the installed package, else the checkout's."""
    packaged = PACKAGED_DATA / name
    return packaged if packaged.exists() else PROJECT_ROOT / name


BUNDLED_SOURCES = bundled("sources.yaml")
"""The source registry shipped with the project."""

DEFAULT_CONTACT = "https://github.com/newsingest/newsingest"


@dataclass(frozen=True, slots=True)
class Config:
    """Process-wide settings, read once from the environment."""

    database_url: str | None
    """PostgreSQL URL; None means the embedded server under ``data_dir``."""

    data_dir: Path
    """Directory for the embedded database and local state."""

    sources_path: Path
    """Path of the sources file."""

    contact: str
    """Contact put into the User-Agent so site operators can reach us."""

    redis_url: str | None = None
    """Redis of distributed crawls; None: crawls run in one process."""

    page_store: str = "database"
    """``database`` or ``warc`` (`storage.pagestore.PAGE_STORES`)."""

    page_warc_dir: Path | None = None
    """Folder of the WARC page files; None: ``data_dir / "pages"``."""

    @property
    def pages_dir(self) -> Path:
        """The folder of the WARC page files."""
        return self.page_warc_dir or self.data_dir / "pages"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build the configuration from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ
        data_dir = env.get("NEWSINGEST_DATA_DIR") or platformdirs.user_data_dir("newsingest")
        sources = env.get("NEWSINGEST_SOURCES") or str(BUNDLED_SOURCES)
        return cls(
            database_url=env.get("NEWSINGEST_DATABASE_URL") or None,
            data_dir=Path(data_dir).expanduser(),
            sources_path=Path(sources).expanduser(),
            contact=env.get("NEWSINGEST_CONTACT") or DEFAULT_CONTACT,
            redis_url=env.get("NEWSINGEST_REDIS_URL") or None,
            page_store=(env.get("NEWSINGEST_PAGE_STORE") or "database").strip().lower(),
            page_warc_dir=Path(
                env.get("NEWSINGEST_PAGE_WARC_DIR") or Path(data_dir).expanduser() / "pages"
            ).expanduser(),
        )
