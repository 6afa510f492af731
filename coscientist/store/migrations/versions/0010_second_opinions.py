"""The judge audit's second judge: its verdicts, in a table of their own (never rated).

A new table only; sessions written before this revision simply have none.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "second_opinions",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=True),
        sa.Column("first_id", sa.String(), nullable=False),
        sa.Column("second_id", sa.String(), nullable=False),
        sa.Column("winner_id", sa.String(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_second_opinions"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_second_opinions_session_id_sessions"
        ),
        sa.ForeignKeyConstraint(
            ["first_id"], ["hypotheses.id"], name="fk_second_opinions_first_id_hypotheses"
        ),
        sa.ForeignKeyConstraint(
            ["second_id"], ["hypotheses.id"], name="fk_second_opinions_second_id_hypotheses"
        ),
        sa.ForeignKeyConstraint(
            ["winner_id"], ["hypotheses.id"], name="fk_second_opinions_winner_id_hypotheses"
        ),
    )
    op.create_index("ix_second_opinions_session", "second_opinions", ["session_id"])


def downgrade() -> None:
    op.drop_index("ix_second_opinions_session", table_name="second_opinions")
    op.drop_table("second_opinions")
