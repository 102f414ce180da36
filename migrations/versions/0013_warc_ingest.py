"""crawl_runs.kind and warc_files: WARC ingests in the ledger, resumable (issue 22)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

``newsingest warc`` records each ingest as a run of kind ``warc`` (crawls are ``crawl``;
existing rows become ``crawl``). ``warc_files`` is the ingest's checkpoint per archive
file (its path or URL): the offset before which every record is stored, the records read
up to there, whether the file was ingested completely, and the runs that worked on it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "crawl_runs",
        sa.Column("kind", sa.Text(), nullable=False, server_default=sa.text("'crawl'")),
    )
    op.create_check_constraint(op.f("ck_crawl_runs_kind"), "crawl_runs", "kind IN ('crawl', 'warc')")
    op.create_table(
        "warc_files",
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("offset", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("records", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("done", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column(
            "run_ids",
            postgresql.ARRAY(sa.Integer()),
            nullable=False,
            server_default=sa.text("'{}'"),
        ),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("location", name=op.f("pk_warc_files")),
    )


def downgrade() -> None:
    op.drop_table("warc_files")
    op.drop_constraint(op.f("ck_crawl_runs_kind"), "crawl_runs", type_="check")
    op.drop_column("crawl_runs", "kind")
