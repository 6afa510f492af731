"""The judge's first-position offset, learned per session.

Each match's rating update takes the judge's preference for the hypothesis it
reads first out of the verdict (coscientist.tournament.ratings.update_positioned);
the offset's current estimate lives on the session row, next to the match
sequence it is updated with.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("position_mu", sa.Float(), nullable=False, server_default="0.0"))
        batch.add_column(
            sa.Column("position_sigma", sa.Float(), nullable=False, server_default="2.0")
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("position_sigma")
        batch.drop_column("position_mu")
