"""Sender proof: confirmations for unauthenticated mail, address proofs, trusted senders; the
sender check's verdict on each stored message; aliases attached without proof are cut off.

Until now a group admin's "allow as <member>" on held mail attached the sender's address to the
member as a verified alias, with no word from the member. None of those was proven by the
member, so every existing alias is cut off here (it no longer authenticates mail or signs in);
a job tells each owner once and removes the row (`app/services/addresses.py`).

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sender_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("vouchers", sa.JSON(), nullable=False),
        sa.Column("mailed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_messages.id"],
                                name=op.f("fk_sender_confirmations_inbound_id_inbound_messages"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sender_confirmations_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_confirmations")),
        sa.UniqueConstraint("inbound_id", name=op.f("uq_sender_confirmations_inbound_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sender_confirmations_token_hash")),
    )
    with op.batch_alter_table("sender_confirmations") as batch:
        batch.create_index(batch.f("ix_sender_confirmations_user_id"), ["user_id"], unique=False)

    op.create_table(
        "address_proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_address_proofs_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_proofs")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_address_proofs_token_hash")),
    )
    with op.batch_alter_table("address_proofs") as batch:
        batch.create_index(batch.f("ix_address_proofs_user_id"), ["user_id"], unique=False)
        batch.create_index(batch.f("ix_address_proofs_email"), ["email"], unique=False)

    op.create_table(
        "trusted_senders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_trusted_senders_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_senders")),
        sa.UniqueConstraint("user_id", "method", "domain", name=op.f("uq_trusted_senders_user_id")),
    )
    with op.batch_alter_table("trusted_senders") as batch:
        batch.create_index(batch.f("ix_trusted_senders_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("sender_check", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("allowed_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_inbound_messages_allowed_by_id_users"), "users", ["allowed_by_id"], ["id"],
                                 ondelete="SET NULL")
    with op.batch_alter_table("user_aliases") as batch:
        batch.add_column(sa.Column("cut_off_at", sa.DateTime(), nullable=True))
    # Every alias so far was attached by a group admin, not proven by its owner: cut them all off.
    op.execute(sa.text("UPDATE user_aliases SET cut_off_at = CURRENT_TIMESTAMP, verified_at = NULL"))


def downgrade() -> None:
    with op.batch_alter_table("user_aliases") as batch:
        batch.drop_column("cut_off_at")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_constraint(batch.f("fk_inbound_messages_allowed_by_id_users"), type_="foreignkey")
        batch.drop_column("allowed_by_id")
        batch.drop_column("sender_check")
    op.drop_table("trusted_senders")
    op.drop_table("address_proofs")
    op.drop_table("sender_confirmations")
