"""room for HOT updates in articles; no second compression of pages

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

``pages.html_zlib`` is zlib already: storage EXTERNAL keeps it out of line without
PostgreSQL trying (and failing) to compress it again.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ARTICLES_FILLFACTOR = 50


def upgrade() -> None:
    op.execute(f"ALTER TABLE articles SET (fillfactor = {ARTICLES_FILLFACTOR})")
    op.execute("ALTER TABLE pages ALTER COLUMN html_zlib SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE pages ALTER COLUMN html_zlib SET STORAGE EXTENDED")
    op.execute("ALTER TABLE articles RESET (fillfactor)")
