"""Server-side sessions and second-factor steps, used TOTP steps, support grants that name their
operator (the outside security review, issue 15). users.session_generation goes: signing out
everywhere ends the member's web_sessions rows instead.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", name="fk_web_sessions_user_id_users",
                                                         ondelete="CASCADE"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.UniqueConstraint("key_hash", name="uq_web_sessions_key_hash"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "second_factor_challenges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey(
            "users.id", name="fk_second_factor_challenges_user_id_users", ondelete="CASCADE"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("next_path", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_second_factor_challenges"),
        sa.UniqueConstraint("key_hash", name="uq_second_factor_challenges_key_hash"),
    )
    op.create_index("ix_second_factor_challenges_user_id", "second_factor_challenges", ["user_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("totp_setup_secret", sa.String(255), nullable=True))
        batch.drop_column("session_generation")  # sessions end in web_sessions now
    with op.batch_alter_table("support_grants") as batch:
        batch.add_column(sa.Column("operator_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_support_grants_operator_id_users", "users", ["operator_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_index("ix_support_grants_operator_id", ["operator_id"])


def downgrade() -> None:
    with op.batch_alter_table("support_grants") as batch:
        batch.drop_index("ix_support_grants_operator_id")
        batch.drop_constraint("fk_support_grants_operator_id_users", type_="foreignkey")
        batch.drop_column("operator_id")
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_column("totp_setup_secret")
        batch.drop_column("totp_last_step")
    op.drop_index("ix_second_factor_challenges_user_id", "second_factor_challenges")
    op.drop_table("second_factor_challenges")
    op.drop_index("ix_web_sessions_user_id", "web_sessions")
    op.drop_table("web_sessions")
