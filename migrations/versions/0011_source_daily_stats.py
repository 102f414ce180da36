"""source_daily_stats: per-source daily aggregates that survive pruning (issue 24)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

``newsingest db prune`` deletes old ``crawl_runs`` (a ~1.5 KB stats document each:
500 sources hourly are ~14 GB in two years) and old ``fetch_failures``; before deleting
it adds them up per source and UTC day into this table, so a source's health history
(runs, successes, pages, new articles, failures per day) survives.

Also ``pages(run_id)``: deleting a run sets ``pages.run_id`` NULL (``ON DELETE SET
NULL``), which without an index read the whole ``pages`` table once per deleted run.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    counter = {"nullable": False, "server_default": sa.text("0")}
    op.create_table(
        "source_daily_stats",
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("runs", sa.Integer(), **counter),
        sa.Column("runs_succeeded", sa.Integer(), **counter),
        sa.Column("runs_failed", sa.Integer(), **counter),
        sa.Column("pages", sa.BigInteger(), **counter),
        sa.Column("articles_inserted", sa.BigInteger(), **counter),
        sa.Column("articles_updated", sa.BigInteger(), **counter),
        sa.Column("failures", sa.BigInteger(), **counter),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_source_daily_stats_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_id", "day", name=op.f("pk_source_daily_stats")),
    )
    op.create_index("ix_pages_run_id", "pages", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_pages_run_id", table_name="pages")
    op.drop_table("source_daily_stats")
