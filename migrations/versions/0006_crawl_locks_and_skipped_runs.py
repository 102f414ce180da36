"""crawl_locks: per-source crawl locks only the ingesting role can take; skipped runs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

A crawl of a source used to hold a session-level advisory lock. Any role that may
connect can take advisory locks, so a read-only login could hold a source's lock and
make every crawl of it skip. A crawl now holds a row lock (``SELECT ... FOR UPDATE``,
``FOR SHARE`` for the workers of one distributed crawl) on the source's row of
``crawl_locks``; row locks need UPDATE privilege on the table, which only its owner
(the role that runs migrations and crawls) has.

A crawl that finds its source locked now records a ``crawl_runs`` row with status
``skipped`` (``error`` names the run holding the lock), so that ``status`` can say so.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'running', 'succeeded', 'failed', 'interrupted', 'abandoned'"
NEW_STATUSES = OLD_STATUSES + ", 'skipped'"


def upgrade() -> None:
    op.create_table(
        "crawl_locks",
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("source_key", name=op.f("pk_crawl_locks")),
    )
    op.execute("REVOKE ALL ON crawl_locks FROM PUBLIC")
    op.drop_constraint(op.f("ck_crawl_runs_status"), "crawl_runs", type_="check")
    op.create_check_constraint(
        op.f("ck_crawl_runs_status"), "crawl_runs", f"status IN ({NEW_STATUSES})"
    )


def downgrade() -> None:
    op.execute("DELETE FROM crawl_runs WHERE status = 'skipped'")
    op.drop_constraint(op.f("ck_crawl_runs_status"), "crawl_runs", type_="check")
    op.create_check_constraint(
        op.f("ck_crawl_runs_status"), "crawl_runs", f"status IN ({OLD_STATUSES})"
    )
    op.drop_table("crawl_locks")
