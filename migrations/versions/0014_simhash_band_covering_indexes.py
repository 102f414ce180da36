"""The simhash band indexes carry the simhash and the id (issue 24)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Near-duplicate linking (``storage.repository``) looks up each new article's four 16-bit
simhash bands. Each band value is shared by ~N / 65,536 articles, and each of those
candidates was read from the table to compute its Hamming distance: at 1,000,000 articles
~61 table pages per stored article, most of them outside the buffer cache, the main
reason the write rate fell as the database grew. With ``INCLUDE (simhash, id)`` the
distance is checked in the index (an index-only scan), and only candidates within
3 bits are read from the table. The indexes keep their names; each grows from ~10 to
~36 bytes per article (deduplication does not apply with INCLUDE columns).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BANDS = 4


def upgrade() -> None:
    for band in range(BANDS):
        name = f"ix_articles_simhash_band{band}"
        op.drop_index(name, table_name="articles")
        op.create_index(
            name, "articles", [f"simhash_band{band}"], postgresql_include=["simhash", "id"]
        )


def downgrade() -> None:
    for band in range(BANDS):
        name = f"ix_articles_simhash_band{band}"
        op.drop_index(name, table_name="articles")
        op.create_index(name, "articles", [f"simhash_band{band}"])
