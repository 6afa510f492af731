"""Stored embeddings of hypotheses: a 10,000-hypothesis session loads without re-embedding.

Sessions written before this revision have no rows here; their hypotheses are
embedded when loaded, as before.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hypothesis_vectors",
        sa.Column("hypothesis_id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("hypothesis_id", name="pk_hypothesis_vectors"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_hypothesis_vectors_session_id_sessions"
        ),
        sa.ForeignKeyConstraint(
            ["hypothesis_id"],
            ["hypotheses.id"],
            name="fk_hypothesis_vectors_hypothesis_id_hypotheses",
        ),
    )
    op.create_index("ix_hypothesis_vectors_session", "hypothesis_vectors", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_hypothesis_vectors_session", table_name="hypothesis_vectors")
    op.drop_table("hypothesis_vectors")
