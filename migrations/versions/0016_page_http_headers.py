"""pages.http_headers: the response's HTTP headers kept with each page (issue 22)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

``newsingest export --format warc`` writes each stored page back as a WARC response
record; with this column it writes the headers the page was served with (as crawled,
or as archived for pages ingested from WARC files) instead of only its status and
``Content-Type``. A JSON array of ``[name, value]`` pairs, in order, without cookies,
the transfer's framing or hop-by-hop headers, at most 64 headers and 8 KB
(`crawler.spiders.news.kept_headers`). NULL for pages stored before this migration.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pages", sa.Column("http_headers", postgresql.JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("pages", "http_headers")
