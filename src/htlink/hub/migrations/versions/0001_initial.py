"""The hub's first schema: projects, agencies, tokens, submissions, runs, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("schema_json", sa.Text, nullable=False),
        sa.Column("schema_fingerprint", sa.String(80), nullable=False),
        sa.Column("bit_length", sa.Integer, nullable=False),
        sa.Column("settings_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "project_agencies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("public_key_fingerprint", sa.String(80), nullable=False),
        sa.Column("deduplicated", sa.Boolean, nullable=False),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=True),
        sa.Column("agency", sa.String(64), nullable=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("expires_at", sa.String(32), nullable=True),
        sa.Column("revoked_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("record_count", sa.BigInteger, nullable=False),
        sa.Column("bit_length", sa.Integer, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("content_hash", sa.String(80), nullable=False),
        sa.Column("manifest_json", sa.Text, nullable=False),
        sa.Column("received_at", sa.String(32), nullable=False),
        sa.Column("replaced_at", sa.String(32), nullable=True),
    )
    op.create_index(
        "ux_submissions_current",
        "submissions",
        ["project_id", "agency"],
        unique=True,
        sqlite_where=sa.text("current"),
        postgresql_where=sa.text("current"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(64), nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("agencies_json", sa.Text, nullable=False),
        sa.Column("submissions_json", sa.Text, nullable=False),
        sa.Column("settings_json", sa.Text, nullable=False),
        sa.Column("summary_json", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=True),
        sa.Column("finished_at", sa.String(32), nullable=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail_json", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    # the chain starts at the genesis hash; appends update this row first (see audit.append)
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": "0" * 64}])


def downgrade() -> None:
    for table in (
        "audit_head",
        "audit_log",
        "runs",
        "submissions",
        "tokens",
        "project_agencies",
        "projects",
    ):
        op.drop_table(table)
