"""Meeting polls as calendar invitations: each poll's invitation (its SEQUENCE, REQUEST or CANCEL)
and each member's answer to it from their calendar (iMIP REPLY).

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("outcome_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], name=op.f("fk_meeting_invitations_poll_id_polls"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outcome_id"], ["outcomes.id"],
                                name=op.f("fk_meeting_invitations_outcome_id_outcomes"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_invitations")),
        sa.UniqueConstraint("poll_id", name=op.f("uq_meeting_invitations_poll_id")),
    )
    op.create_table(
        "meeting_attendances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column("replied_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], name=op.f("fk_meeting_attendances_poll_id_polls"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_meeting_attendances_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["inbound_message_id"], ["inbound_messages.id"],
                                name=op.f("fk_meeting_attendances_inbound_message_id_inbound_messages"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendances")),
        sa.UniqueConstraint("poll_id", "user_id", name=op.f("uq_meeting_attendances_poll_id")),
    )
    op.create_index(op.f("ix_meeting_attendances_poll_id"), "meeting_attendances", ["poll_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_meeting_attendances_poll_id"), table_name="meeting_attendances")
    op.drop_table("meeting_attendances")
    op.drop_table("meeting_invitations")
