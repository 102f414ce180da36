"""The schema: SQLAlchemy 2 typed models of every table newsingest owns, one module per
aggregate (`base`, `sources`, `articles`, `runs`, `fieldstats`), all importable from here.

Migrations in ``migrations/versions`` are the source of truth for the database; these
models must match them (``alembic check`` passes in the tests). Things models cannot
express (the trigger that archives previous versions) live in the migrations and are
described in docs/schema.md.
"""

from __future__ import annotations

from storage.models.articles import (
    MAX_UTC_OFFSET_MINUTES,
    NEAR_DUPLICATE_DISTANCE,
    PRECISIONS,
    SIMHASH_BANDS,
    STUB_KINDS,
    TEXT_SEARCH_CONFIGS,
    Article,
    ArticleVersion,
    Page,
    search_vector_sql,
    simhash_band_sql,
    stub_check_sql,
)
from storage.models.base import (
    NAMING_CONVENTION,
    Base,
)
from storage.models.fieldstats import (
    RunFieldStats,
    SourceDailyStats,
)
from storage.models.runs import (
    FAILURE_STAGES,
    RUN_KINDS,
    RUN_STATUSES,
    CrawlLock,
    CrawlRun,
    FetchFailure,
    WarcFile,
    WriteLock,
)
from storage.models.sources import (
    Source,
    UrlState,
)

__all__ = [
    "FAILURE_STAGES",
    "MAX_UTC_OFFSET_MINUTES",
    "NAMING_CONVENTION",
    "NEAR_DUPLICATE_DISTANCE",
    "PRECISIONS",
    "RUN_KINDS",
    "RUN_STATUSES",
    "SIMHASH_BANDS",
    "STUB_KINDS",
    "TEXT_SEARCH_CONFIGS",
    "Article",
    "ArticleVersion",
    "Base",
    "CrawlLock",
    "CrawlRun",
    "FetchFailure",
    "Page",
    "RunFieldStats",
    "Source",
    "SourceDailyStats",
    "UrlState",
    "WarcFile",
    "WriteLock",
    "search_vector_sql",
    "simhash_band_sql",
    "stub_check_sql",
]
