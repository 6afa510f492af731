"""A model per role: the session's role map, and which configured model made each call.

`sessions.roles` holds the roles that have a model of their own (spec, base URL with
its password masked, concurrency), so a resume and `coscientist worker` use the same
models; `llm_calls.endpoint` names the configured model behind each call (its spec and
masked base URL). Rows written before this revision read as "every role on the session's
model" and "endpoint unknown".

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("roles", _json(), nullable=True))
    with op.batch_alter_table("llm_calls") as batch:
        batch.add_column(sa.Column("endpoint", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("llm_calls") as batch:
        batch.drop_column("endpoint")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("roles")
