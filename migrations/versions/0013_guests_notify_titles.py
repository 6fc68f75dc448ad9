"""Guests in one thread, who was told of a thread or poll directly, and membership titles.

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thread_guests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("invited_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("removed_at", sa.DateTime(), nullable=True),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["discussion_id"], ["discussions.id"],
                                name=op.f("fk_thread_guests_discussion_id_discussions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_thread_guests_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by_id"], ["users.id"], name=op.f("fk_thread_guests_invited_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["removed_by_id"], ["users.id"], name=op.f("fk_thread_guests_removed_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thread_guests")),
        sa.UniqueConstraint("discussion_id", "user_id", name=op.f("uq_thread_guests_discussion_id")),
    )
    op.create_index(op.f("ix_thread_guests_discussion_id"), "thread_guests", ["discussion_id"])
    op.create_index(op.f("ix_thread_guests_user_id"), "thread_guests", ["user_id"])

    op.create_table(
        "direct_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=True),
        sa.Column("poll_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=254), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["discussion_id"], ["discussions.id"],
                                name=op.f("fk_direct_notices_discussion_id_discussions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], name=op.f("fk_direct_notices_poll_id_polls"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_direct_notices_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_direct_notices_requested_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_notices")),
    )
    op.create_index("ix_direct_notices_discussion", "direct_notices", ["discussion_id"])
    op.create_index(op.f("ix_direct_notices_poll_id"), "direct_notices", ["poll_id"])
    op.create_index(op.f("ix_direct_notices_user_id"), "direct_notices", ["user_id"])

    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("title", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("title")
    op.drop_table("direct_notices")
    op.drop_table("thread_guests")
