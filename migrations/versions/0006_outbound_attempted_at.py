"""When a job last tried to send an outbound message: a send claims its row first ("sending"),
so two jobs never send one message, and the sweeper finds a claim a killed worker left and a
retry whose schedule was lost with Redis.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("attempted_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_column("attempted_at")
