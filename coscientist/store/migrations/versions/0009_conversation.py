"""Talking to the session: the questions the scientist asked, their answers and what they cite.

A new table only; sessions written before this revision simply have no answers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("cited_ids", _json(), nullable=False),
        sa.Column("dropped_ids", _json(), nullable=False),
        sa.Column("follow_up", _json(), nullable=True),
        sa.Column("applied", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_answers"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_answers_session_id_sessions"
        ),
    )
    op.create_index("ix_answers_session_created", "answers", ["session_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_answers_session_created", table_name="answers")
    op.drop_table("answers")
