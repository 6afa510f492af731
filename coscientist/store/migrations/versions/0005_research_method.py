"""The co-scientist's method in full: research plan, safety, reasons for statuses, observations,
and the structured research overview.

Every new column is nullable: sessions and hypotheses written before this
revision read as "no plan yet", "not judged", "no reason recorded".

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("plan", _json(), nullable=True))
        batch.add_column(sa.Column("goal_safety", _json(), nullable=True))
    with op.batch_alter_table("hypotheses") as batch:
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("meta_reviews") as batch:
        batch.add_column(sa.Column("research_overview", _json(), nullable=True))
    op.create_table(
        "observations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_observations"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_observations_session_id_sessions"
        ),
    )
    op.create_index("ix_observations_session", "observations", ["session_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_observations_session", table_name="observations")
    op.drop_table("observations")
    with op.batch_alter_table("meta_reviews") as batch:
        batch.drop_column("research_overview")
    with op.batch_alter_table("hypotheses") as batch:
        batch.drop_column("status_reason")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("goal_safety")
        batch.drop_column("plan")
