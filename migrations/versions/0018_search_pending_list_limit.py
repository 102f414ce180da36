"""articles: the search index's pending list holds 16 MB instead of 4 (issue 24)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

The GIN index of ``search_vector`` collects new entries in its pending list and the
insert that fills the list past ``gin_pending_list_limit`` (PostgreSQL's default 4 MB,
~500 articles) merges it into the index inside the crawl's write transaction: at 200,000
articles that insert took ~1 s instead of ~0.2. The store pipeline now merges the list
itself, outside its batches, every ``NEWSINGEST_SEARCH_MERGE_ARTICLES`` (1,000 articles,
~8 MB; `storage.articles.merge_search_entries`); this limit leaves it that room, and
still bounds the list (so what a search reads of it) when nothing merges.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER INDEX ix_articles_search_vector SET (gin_pending_list_limit = 16384)")


def downgrade() -> None:
    op.execute("ALTER INDEX ix_articles_search_vector RESET (gin_pending_list_limit)")
