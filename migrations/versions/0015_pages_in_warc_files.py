"""pages.warc_file, warc_offset, warc_length, body_sha256: raw pages in WARC files (issue 24)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

With ``NEWSINGEST_PAGE_STORE=warc`` a page's raw HTML is a record in a WARC file under
``NEWSINGEST_PAGE_WARC_DIR`` (`storage.pagestore`) instead of ``html_zlib``: the row keeps
the file (relative to that folder), the offset and length of the record's gzip member,
and the SHA-256 of the body (kept for pages of either store from now on). ``html_zlib``
becomes nullable; ``ck_pages_stored`` requires one of the two, and the three WARC
columns are set together. Rows written before keep their ``html_zlib``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STORED = "html_zlib IS NOT NULL OR warc_file IS NOT NULL"
WARC_TOGETHER = (
    "(warc_file IS NULL) = (warc_offset IS NULL) AND (warc_file IS NULL) = (warc_length IS NULL)"
)


def upgrade() -> None:
    op.add_column("pages", sa.Column("warc_file", sa.Text(), nullable=True))
    op.add_column("pages", sa.Column("warc_offset", sa.BigInteger(), nullable=True))
    op.add_column("pages", sa.Column("warc_length", sa.BigInteger(), nullable=True))
    op.add_column("pages", sa.Column("body_sha256", sa.String(64), nullable=True))
    op.alter_column("pages", "html_zlib", existing_type=sa.LargeBinary(), nullable=True)
    op.create_check_constraint(op.f("ck_pages_stored"), "pages", STORED)
    op.create_check_constraint(op.f("ck_pages_warc_location"), "pages", WARC_TOGETHER)


def downgrade() -> None:
    in_files = op.get_bind().execute(
        sa.text("SELECT count(*) FROM pages WHERE html_zlib IS NULL")
    ).scalar_one()
    if in_files:
        raise RuntimeError(
            f"{in_files} pages are kept in WARC files only (NEWSINGEST_PAGE_STORE=warc); "
            "schema 0014 cannot hold them"
        )
    op.drop_constraint(op.f("ck_pages_warc_location"), "pages", type_="check")
    op.drop_constraint(op.f("ck_pages_stored"), "pages", type_="check")
    op.alter_column("pages", "html_zlib", existing_type=sa.LargeBinary(), nullable=False)
    op.drop_column("pages", "body_sha256")
    op.drop_column("pages", "warc_length")
    op.drop_column("pages", "warc_offset")
    op.drop_column("pages", "warc_file")
