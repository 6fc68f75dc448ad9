"""Feed tokens: a member's key to the Atom feeds of their private groups, stored hashed.

Revision ID: 0009
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_feed_tokens_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feed_tokens_token_hash")),
        sa.UniqueConstraint("user_id", name=op.f("uq_feed_tokens_user_id")),
    )


def downgrade() -> None:
    op.drop_table("feed_tokens")
