"""crawl_runs: a partial index for the newest archive ingests (issue 24)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

``status`` shows the last archive ingest (`storage.ledger.latest_ingests`: the newest
``kind = 'warc'`` run). Served by ``(started_at, id)``, PostgreSQL walked that index
backwards through every crawl run when no ingest had ever run (about 0.5 s at 394,500
runs). This index holds the ingests only, so the lookup reads one entry whatever the
number of crawls.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_crawl_runs_started_at_id_warc",
        "crawl_runs",
        ["started_at", "id"],
        postgresql_where=sa.text("kind = 'warc'"),
    )


def downgrade() -> None:
    op.drop_index("ix_crawl_runs_started_at_id_warc", table_name="crawl_runs")
