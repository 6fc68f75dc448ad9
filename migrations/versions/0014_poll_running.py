"""Running a poll: shuffled options, reason prompts, the closing-soon notice's audience and time,
participation quorum and pass thresholds for proposals, an outcome's review date.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("shuffle_options", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("reason_prompt", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("closing_soon_audience", sa.String(length=12), nullable=False,
                                   server_default="undecided"))
        batch.add_column(sa.Column("closing_soon_hours", sa.Integer(), nullable=False, server_default="24"))
        batch.add_column(sa.Column("quorum_percent", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pass_percent", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pass_without_blocks", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("poll_options") as batch:
        batch.add_column(sa.Column("reason_prompt", sa.String(length=300), nullable=True))
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("review_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("review_sent_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("review_sent_at")
        batch.drop_column("review_at")
    with op.batch_alter_table("poll_options") as batch:
        batch.drop_column("reason_prompt")
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("pass_without_blocks")
        batch.drop_column("pass_percent")
        batch.drop_column("quorum_percent")
        batch.drop_column("closing_soon_hours")
        batch.drop_column("closing_soon_audience")
        batch.drop_column("reason_prompt")
        batch.drop_column("shuffle_options")
