"""Which embedder made each stored vector, and which one a session's last run used.

A vector's `embedder` is the key name:model:dimension of coscientist.embedding;
rows written before this revision were made by the hashed embedder.
session_embedders keeps a session's requested embedder, the one it used and why
it fell back, if it did (never a URL or a key).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

HASHED_KEY = "hashed:ngrams-v1:512"  # coscientist.proximity.HASHED_KEY when this was written


def upgrade() -> None:
    with op.batch_alter_table("hypothesis_vectors") as batch:
        batch.add_column(
            sa.Column("embedder", sa.String(), nullable=False, server_default=HASHED_KEY)
        )
    op.create_table(
        "session_embedders",
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("requested", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("fallback", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_embedders"),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name="fk_session_embedders_session_id_sessions"
        ),
    )


def downgrade() -> None:
    op.drop_table("session_embedders")
    with op.batch_alter_table("hypothesis_vectors") as batch:
        batch.drop_column("embedder")
