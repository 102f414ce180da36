"""Field health per source: counts kept at write time per source and day, and per run (issue 23)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

``source_daily_stats`` gets the field counts of the records stored each UTC day (how
many had a title, a lead, authors or credits, a publication date at each precision, the
source's language, a translation note; a histogram of their body lengths) and the pages
rejected by extraction, by reason. The same counts per crawl run go to the new table
``run_field_stats``. Both are added to by the write path (`storage.fieldstats`), one
statement per batch each, so `newsingest health` and `status` read a few aggregate rows
instead of the articles.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIELD_COUNTERS = (
    "records",
    "with_title",
    "with_lead",
    "with_authors",
    "published_minute",
    "published_day",
    "published_month",
    "published_year",
    "language_agrees",
    "with_translation",
    "rejected",
)


def _field_columns() -> list[sa.Column[object]]:
    counter = {"nullable": False, "server_default": sa.text("0")}
    cols: list[sa.Column[object]] = [sa.Column(n, sa.BigInteger(), **counter) for n in FIELD_COUNTERS]
    cols.append(
        sa.Column(
            "words_hist",
            postgresql.ARRAY(sa.BigInteger()),
            nullable=False,
            server_default=sa.text("'{}'::bigint[]"),
        )
    )
    cols.append(
        sa.Column(
            "rejections",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'{}'::jsonb"),
        )
    )
    return cols


def upgrade() -> None:
    for col in _field_columns():
        op.add_column("source_daily_stats", col)
    op.create_table(
        "run_field_stats",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        *_field_columns(),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crawl_runs.id"],
            name=op.f("fk_run_field_stats_run_id_crawl_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_run_field_stats_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_field_stats")),
    )
    op.create_index(
        "ix_run_field_stats_source_id_run_id", "run_field_stats", ["source_id", "run_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_run_field_stats_source_id_run_id", table_name="run_field_stats")
    op.drop_table("run_field_stats")
    for name in (*FIELD_COUNTERS, "words_hist", "rejections"):
        op.drop_column("source_daily_stats", name)
