"""Alert delivery state (the outbox) moves from the DuckDB warehouse to the state store:
``alert_deliveries`` and ``alert_delivery_attempts``, per workspace.

Rows of a warehouse's old DuckDB tables are copied in by costline on first use
(:mod:`costline.storage.state.legacy`), not here: a migration sees only the state store.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("workspace", sa.String(200), nullable=False),
        sa.Column("anomaly_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('sending', 'delivered', 'failed', 'superseded', 'unreadable')",
            name=op.f("ck_alert_deliveries_status"),
        ),
        sa.PrimaryKeyConstraint(
            "workspace", "anomaly_id", "revision", "channel", name=op.f("pk_alert_deliveries")
        ),
    )
    op.create_index(
        "ix_alert_deliveries_workspace_status", "alert_deliveries", ["workspace", "status"]
    )
    op.create_table(
        "alert_delivery_attempts",
        sa.Column("workspace", sa.String(200), nullable=False),
        sa.Column("anomaly_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", TS, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint(
            "workspace",
            "anomaly_id",
            "revision",
            "channel",
            "attempt",
            name=op.f("pk_alert_delivery_attempts"),
        ),
    )


def downgrade() -> None:
    op.drop_table("alert_delivery_attempts")
    op.drop_index("ix_alert_deliveries_workspace_status", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
