"""Polls: voters may add options (a per-poll setting); drafts (saved, not yet open for votes).

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("voters_can_add_options", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("draft", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("draft")
        batch.drop_column("voters_can_add_options")
