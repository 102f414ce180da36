"""room for HOT updates in articles; no futile TOAST compression

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

An unchanged re-crawl only moves ``articles.last_seen_at``, a column no index covers. With
the default fillfactor (100) the new row version lands on another page, so every index
gets a new entry, the GIN index of ``search_vector`` one per lexeme (~550 for a
5,000-character text): 0.5-1 ms of server time per touched row. ``fillfactor = 50``
leaves half of each heap page free, so such an update stays on its page and is a HOT
update (no index entry at all, pruned in place later): ~0.01 ms per row. Only the main
heap grows (its rows are ~0.8 KB: ``text`` and ``search_vector`` are TOASTed), not TOAST,
pages or indexes. Pages written before this migration keep their layout until rewritten
(``VACUUM FULL articles``, optional).

Storage EXTERNAL (out of line when large, never compressed by PostgreSQL) for columns
whose pglz compression fails or gains almost nothing, so that every insert stopped paying
for the attempt (``pglz_compress`` was the top entry of the server's profile of new-row
upserts, 8 % of its time): ``pages.html_zlib`` (zlib already), ``articles.search_vector``
(sorted binary lexemes and positions: 0 of 2,900 bench rows compressed),
``articles.text`` and ``article_versions.text`` (prose of a few KB: 114 of 2,900 bench rows
compressed, saving 1 % of their size in all). Stored values keep their form until
rewritten; both forms read the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARTICLES_FILLFACTOR = 50

EXTERNAL = (
    ("pages", "html_zlib"),
    ("articles", "search_vector"),
    ("articles", "text"),
    ("article_versions", "text"),
)


def upgrade() -> None:
    op.execute(f"ALTER TABLE articles SET (fillfactor = {ARTICLES_FILLFACTOR})")
    for table, column in EXTERNAL:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL")


def downgrade() -> None:
    for table, column in EXTERNAL:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTENDED")
    op.execute("ALTER TABLE articles RESET (fillfactor)")
