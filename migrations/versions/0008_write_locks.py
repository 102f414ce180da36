"""write_locks: the articles writers' lock as a row lock only the ingesting role can take

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

Article writers serialized on a transaction-level advisory lock (key ``(1852143475,
1)``). Any role that may connect can take advisory locks, so a read-only login holding
that key stalled every store. Writers now lock the ``articles`` row of ``write_locks``
(``SELECT ... FOR UPDATE``); row locks need UPDATE privilege, which only the table's
owner has.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "write_locks",
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_write_locks")),
    )
    op.execute("REVOKE ALL ON write_locks FROM PUBLIC")
    op.execute("INSERT INTO write_locks (name) VALUES ('articles')")


def downgrade() -> None:
    op.drop_table("write_locks")
