"""Decision processes (a poll's process, an option's meaning), a group's thread and poll templates, and
search over polls, outcomes and vote reasons.

SQLite: a second FTS5 table, decision_search_index, kept current by triggers (rowid = 3*id for polls,
3*id+1 for outcomes, 3*id+2 for stances with a reason). PostgreSQL: GIN indexes on the to_tsvector
expressions app/search.py queries.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_POLL_ROW = ("INSERT INTO decision_search_index(rowid, title, body, kind, item_id, poll_id) "
             "VALUES (new.id * 3, new.title, coalesce(new.details, ''), 'p', new.id, new.id);")
_OUTCOME_ROW = ("INSERT INTO decision_search_index(rowid, title, body, kind, item_id, poll_id) "
                "VALUES (new.id * 3 + 1, '', new.statement, 'o', new.id, new.poll_id);")
_STANCE_ROW = ("INSERT INTO decision_search_index(rowid, title, body, kind, item_id, poll_id) "
               "SELECT new.id * 3 + 2, '', new.reason, 'r', new.id, new.poll_id "
               "WHERE new.reason IS NOT NULL AND new.reason != '';")

SQLITE_UP = [
    "CREATE VIRTUAL TABLE decision_search_index USING fts5(title, body, kind UNINDEXED, item_id UNINDEXED, "
    "poll_id UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER search_polls_ai AFTER INSERT ON polls BEGIN {_POLL_ROW} END",
    "CREATE TRIGGER search_polls_au AFTER UPDATE OF title, details ON polls BEGIN "
    f"DELETE FROM decision_search_index WHERE rowid = old.id * 3; {_POLL_ROW} END",
    "CREATE TRIGGER search_polls_ad AFTER DELETE ON polls BEGIN "
    "DELETE FROM decision_search_index WHERE rowid = old.id * 3; END",
    f"CREATE TRIGGER search_outcomes_ai AFTER INSERT ON outcomes BEGIN {_OUTCOME_ROW} END",
    "CREATE TRIGGER search_outcomes_au AFTER UPDATE OF statement ON outcomes BEGIN "
    f"DELETE FROM decision_search_index WHERE rowid = old.id * 3 + 1; {_OUTCOME_ROW} END",
    "CREATE TRIGGER search_outcomes_ad AFTER DELETE ON outcomes BEGIN "
    "DELETE FROM decision_search_index WHERE rowid = old.id * 3 + 1; END",
    f"CREATE TRIGGER search_stances_ai AFTER INSERT ON stances BEGIN {_STANCE_ROW} END",
    "CREATE TRIGGER search_stances_au AFTER UPDATE OF reason ON stances BEGIN "
    f"DELETE FROM decision_search_index WHERE rowid = old.id * 3 + 2; {_STANCE_ROW} END",
    "CREATE TRIGGER search_stances_ad AFTER DELETE ON stances BEGIN "
    "DELETE FROM decision_search_index WHERE rowid = old.id * 3 + 2; END",
    # Index whatever already exists.
    "INSERT INTO decision_search_index(rowid, title, body, kind, item_id, poll_id) "
    "SELECT id * 3, title, coalesce(details, ''), 'p', id, id FROM polls",
    "INSERT INTO decision_search_index(rowid, title, body, kind, item_id, poll_id) "
    "SELECT id * 3 + 1, '', statement, 'o', id, poll_id FROM outcomes",
    "INSERT INTO decision_search_index(rowid, title, body, kind, item_id, poll_id) "
    "SELECT id * 3 + 2, '', reason, 'r', id, poll_id FROM stances WHERE reason IS NOT NULL AND reason != ''",
]
SQLITE_DOWN = [
    *(f"DROP TRIGGER IF EXISTS search_{table}_{when}" for table in ("polls", "outcomes", "stances")
      for when in ("ai", "au", "ad")),
    "DROP TABLE IF EXISTS decision_search_index",
]
POSTGRES_UP = [
    "CREATE INDEX ix_polls_search ON polls USING gin "
    "(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(details, '')))",
    "CREATE INDEX ix_outcomes_search ON outcomes USING gin (to_tsvector('english', coalesce(statement, '')))",
    "CREATE INDEX ix_stances_search ON stances USING gin (to_tsvector('english', coalesce(reason, '')))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_polls_search", "DROP INDEX IF EXISTS ix_outcomes_search",
                 "DROP INDEX IF EXISTS ix_stances_search"]


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("process", sa.String(length=20), nullable=True))
    with op.batch_alter_table("poll_options") as batch:
        batch.add_column(sa.Column("meaning", sa.Text(), nullable=True))
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("default_key", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("poll_type", sa.String(length=20), nullable=True),
        sa.Column("process", sa.String(length=20), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_templates_group_id_groups"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_templates_author_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("group_id", "default_key", name=op.f("uq_templates_group_id")),
    )
    op.create_index(op.f("ix_templates_group_id"), "templates", ["group_id"])
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN
    for statement in statements:
        op.execute(statement)
    op.drop_index(op.f("ix_templates_group_id"), table_name="templates")
    op.drop_table("templates")
    with op.batch_alter_table("poll_options") as batch:
        batch.drop_column("meaning")
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("process")

