"""Knowledge graph grown from the whole session: typed nodes, provenance, merges, metric series.

Nodes get a kind (concept, hypothesis, source) and an origin; edges an origin;
hypotheses the concepts that inspired them. kg_merges explains every name
folded into an existing concept; kg_series keeps the graph's figures per
iteration. Rows written before this revision read as concepts with no origin.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _session_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["session_id"], ["sessions.id"], name=f"fk_{table}_session_id_sessions"
    )


def upgrade() -> None:
    with op.batch_alter_table("kg_nodes") as batch:
        batch.add_column(sa.Column("kind", sa.String(), nullable=False, server_default="concept"))
        batch.add_column(sa.Column("origin", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("kg_edges") as batch:
        batch.add_column(sa.Column("origin", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("hypotheses") as batch:
        batch.add_column(
            sa.Column("inspired_by", _json(), nullable=False, server_default=sa.text("'[]'"))
        )
    op.create_table(
        "kg_merges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("alias", sa.Text(), nullable=False),
        sa.Column("into", sa.Text(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kg_merges"),
        sa.UniqueConstraint("session_id", "alias", "into", name="uq_kg_merges_session_alias"),
        _session_fk("kg_merges"),
    )
    op.create_table(
        "kg_series",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(), nullable=False),
        sa.Column("iteration", sa.Integer(), nullable=False),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("hubs", _json(), nullable=False),
        sa.Column("bridges", _json(), nullable=False),
        sa.Column("communities", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kg_series"),
        _session_fk("kg_series"),
    )
    op.create_index("ix_kg_series_session_iteration", "kg_series", ["session_id", "iteration"])


def downgrade() -> None:
    op.drop_index("ix_kg_series_session_iteration", table_name="kg_series")
    op.drop_table("kg_series")
    op.drop_table("kg_merges")
    with op.batch_alter_table("hypotheses") as batch:
        batch.drop_column("inspired_by")
    with op.batch_alter_table("kg_edges") as batch:
        batch.drop_column("origin")
    with op.batch_alter_table("kg_nodes") as batch:
        batch.drop_column("origin")
        batch.drop_column("kind")
