"""Operating an instance: deactivated accounts, scheduled group deletion, site branding, account merges.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("groups") as batch:
        batch.add_column(sa.Column("deletion_due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("deletion_claimed_at", sa.DateTime(), nullable=True))

    op.create_table(
        "site_branding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_name", sa.String(length=60), nullable=False),
        sa.Column("accent_colour", sa.String(length=7), nullable=False),
        sa.Column("terms_url", sa.String(length=500), nullable=False),
        sa.Column("privacy_url", sa.String(length=500), nullable=False),
        sa.Column("logo", sa.LargeBinary(), nullable=True),
        sa.Column("logo_etag", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_site_branding_updated_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_branding")),
    )
    op.create_table(
        "account_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kept_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("kept_token_hash", sa.String(length=64), nullable=False),
        sa.Column("merged_token_hash", sa.String(length=64), nullable=False),
        sa.Column("kept_confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("merged_confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("report", sa.String(length=4000), nullable=True),
        sa.Column("conflicts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["kept_id"], ["users.id"], name=op.f("fk_account_merges_kept_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["merged_id"], ["users.id"], name=op.f("fk_account_merges_merged_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_account_merges_requested_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_merges")),
        sa.UniqueConstraint("kept_token_hash", name=op.f("uq_account_merges_kept_token_hash")),
        sa.UniqueConstraint("merged_token_hash", name=op.f("uq_account_merges_merged_token_hash")),
    )
    op.create_index(op.f("ix_account_merges_kept_id"), "account_merges", ["kept_id"])
    op.create_index(op.f("ix_account_merges_merged_id"), "account_merges", ["merged_id"])


def downgrade() -> None:
    op.drop_table("account_merges")
    op.drop_table("site_branding")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("deletion_claimed_at")
        batch.drop_column("deletion_due_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("deactivated_at")
