"""Recommendations, their tickets and adoption records move from the DuckDB warehouse to the
state store: ``recommendations`` and ``adoptions``, per workspace. Money is ``NUMERIC(38, 10)``
on PostgreSQL and exact decimal text on SQLite (see ``models.Money``).

Rows of a warehouse's old DuckDB tables are copied in by costline on first use
(:mod:`costline.storage.state.legacy`), not here: a migration sees only the state store.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)


def money() -> sa.types.TypeEngine[Any]:
    return sa.Numeric(38, 10).with_variant(sa.String(60), "sqlite")


def upgrade() -> None:
    op.create_table(
        "recommendations",
        sa.Column("workspace", sa.String(200), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("team", sa.String(100), nullable=True),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("monthly_savings", money(), nullable=False),
        sa.Column("monthly_cost", money(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_seen", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ticket_key", sa.String(200), nullable=True),
        sa.Column("ticket_savings", money(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("realized_savings", money(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'ticketed', 'actioned', 'dismissed', 'expired')",
            name=op.f("ck_recommendations_status"),
        ),
        sa.PrimaryKeyConstraint("workspace", "id", name=op.f("pk_recommendations")),
    )
    op.create_index(
        "ix_recommendations_workspace_status", "recommendations", ["workspace", "status"]
    )
    op.create_index("ix_recommendations_workspace_team", "recommendations", ["workspace", "team"])
    op.create_table(
        "adoptions",
        sa.Column("workspace", sa.String(200), nullable=False),
        sa.Column("rec_id", sa.String(40), nullable=False),
        sa.Column("action_date", sa.Date(), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("team", sa.String(100), nullable=True),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(200), nullable=True),
        sa.Column("to_state", sa.String(200), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("estimated_monthly", money(), nullable=True),
        sa.Column("baseline_daily", money(), nullable=True),
        sa.Column("after_daily", money(), nullable=True),
        sa.Column("after_days", sa.Integer(), nullable=False),
        sa.Column("realized_monthly", money(), nullable=True),
        sa.Column("ticket_key", sa.String(200), nullable=True),
        sa.Column("detected_at", TS, nullable=False),
        sa.Column("measured_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("workspace", "rec_id", "action_date", name=op.f("pk_adoptions")),
    )


def downgrade() -> None:
    op.drop_table("adoptions")
    op.drop_index("ix_recommendations_workspace_team", table_name="recommendations")
    op.drop_index("ix_recommendations_workspace_status", table_name="recommendations")
    op.drop_table("recommendations")
