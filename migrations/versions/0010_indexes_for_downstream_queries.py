"""indexes for the documented downstream queries (issue 24)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Measured with ``bench/scale.py`` (bench/README.md): the date and language selections
scanned all of ``articles`` through the ``(source_id, published_at)`` index, the latest
rows of a source were sorted after reading every row of the source, ``runs`` read all of
``crawl_runs`` and ``status`` counted each source's articles row by row.

* ``articles(published_at DESC NULLS LAST)``: a day, a week, the newest of all sources;
* ``articles(language, published_at DESC NULLS LAST)`` replaces ``articles(language)``
  (20 values: the planner never used it alone);
* ``articles(source_id, published_at DESC NULLS LAST)`` replaces the ascending
  ``(source_id, published_at)``: newest first, undated last, as downstream tools and
  ``search`` sort, read straight off the index;
* ``articles(source_id, first_seen_at)``: ``status``'s articles of the last 24 h / 7 days;
* ``crawl_runs(started_at, id)``: ``runs``, newest first;
* ``crawl_runs(source_id, finished_at) WHERE status = 'succeeded'``: ``status``'s last
  success of a source;
* ``crawl_runs(crawl_id) WHERE crawl_id IS NOT NULL``: the worker runs of a distributed
  crawl (``status`` and ``runs`` group them).

``fetch_failures(source_id, occurred_at)`` stays: the cookbook's "recent failures of a
source" reads it (docs/schema.md), and it serves ``ON DELETE SET NULL`` of a source.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEWEST_FIRST = "published_at DESC NULLS LAST"


def upgrade() -> None:
    op.drop_index("ix_articles_language", table_name="articles")
    op.drop_index("ix_articles_source_id_published_at", table_name="articles")
    op.execute(
        "CREATE INDEX ix_articles_source_id_published_at ON articles"
        f" (source_id, {NEWEST_FIRST})"
    )
    op.execute(f"CREATE INDEX ix_articles_published_at ON articles ({NEWEST_FIRST})")
    op.execute(
        f"CREATE INDEX ix_articles_language_published_at ON articles (language, {NEWEST_FIRST})"
    )
    op.create_index(
        "ix_articles_source_id_first_seen_at", "articles", ["source_id", "first_seen_at"]
    )
    op.create_index("ix_crawl_runs_started_at_id", "crawl_runs", ["started_at", "id"])
    op.execute(
        "CREATE INDEX ix_crawl_runs_source_id_finished_at_succeeded ON crawl_runs"
        " (source_id, finished_at) WHERE status = 'succeeded'"
    )
    op.execute(
        "CREATE INDEX ix_crawl_runs_crawl_id ON crawl_runs (crawl_id)"
        " WHERE crawl_id IS NOT NULL"
    )


def downgrade() -> None:
    for name in (
        "ix_crawl_runs_crawl_id",
        "ix_crawl_runs_source_id_finished_at_succeeded",
        "ix_crawl_runs_started_at_id",
    ):
        op.drop_index(name, table_name="crawl_runs")
    for name in (
        "ix_articles_source_id_first_seen_at",
        "ix_articles_language_published_at",
        "ix_articles_published_at",
        "ix_articles_source_id_published_at",
    ):
        op.drop_index(name, table_name="articles")
    op.create_index(
        "ix_articles_source_id_published_at", "articles", ["source_id", "published_at"]
    )
    op.create_index("ix_articles_language", "articles", ["language"])
