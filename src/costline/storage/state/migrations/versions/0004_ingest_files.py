"""The ingest file history: ``ingest_files``, one row per file outcome of every ingest run
(loaded, unchanged, quarantined with its error and fix, missing, ...), per workspace.

The ingest manifest (``_ingestions``, ``_ingested_files``, ``_partitions``,
``_partition_history``) stays in the DuckDB warehouse: it commits with the data it describes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ingest_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(100), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("ingestion_id", sa.String(64), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.CheckConstraint(
            "status IN ('loaded', 'unchanged', 'duplicate', 'skipped', 'manifest', "
            "'quarantined', 'missing')",
            name=op.f("ck_ingest_files_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_files")),
    )
    op.create_index("ix_ingest_files_workspace_at", "ingest_files", ["workspace", "at"])
    op.create_index(
        "ix_ingest_files_workspace_status_at", "ingest_files", ["workspace", "status", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_ingest_files_workspace_status_at", table_name="ingest_files")
    op.drop_index("ix_ingest_files_workspace_at", table_name="ingest_files")
    op.drop_table("ingest_files")
