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
    # Plain ADD COLUMN, not a batch: on SQLite a batch may rebuild the table, and a rebuilt `polls` loses
    # the full-text triggers migration 0010 put on it (search would stop finding new polls).
    for column in (
        sa.Column("shuffle_options", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reason_prompt", sa.String(length=300), nullable=True),
        sa.Column("closing_soon_audience", sa.String(length=12), nullable=False, server_default="undecided"),
        sa.Column("closing_soon_hours", sa.Integer(), nullable=False, server_default="24"),
        sa.Column("quorum_percent", sa.Integer(), nullable=True),
        sa.Column("pass_percent", sa.Integer(), nullable=True),
        sa.Column("pass_without_blocks", sa.Boolean(), nullable=False, server_default=sa.false()),
    ):
        op.add_column("polls", column)
    op.add_column("poll_options", sa.Column("reason_prompt", sa.String(length=300), nullable=True))
    op.add_column("outcomes", sa.Column("review_at", sa.DateTime(), nullable=True))
    op.add_column("outcomes", sa.Column("review_sent_at", sa.DateTime(), nullable=True))


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
