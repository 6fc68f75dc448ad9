"""Languages: a group's default language for members who never chose one, and "never chose" told
apart from English (until now every account said "en", and the setting changed nothing but the
page's lang attribute, so "en" was never a choice: it becomes "not chosen", an empty string).

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("groups", sa.Column("locale", sa.String(length=16), nullable=True))  # plain ADD COLUMN: no table rebuild
    op.execute("UPDATE users SET locale = '' WHERE locale = 'en'")


def downgrade() -> None:
    op.execute("UPDATE users SET locale = 'en' WHERE locale = ''")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("locale")
