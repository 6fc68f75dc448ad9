"""Full-text search over threads and comments.

SQLite: an FTS5 table kept current by triggers (rowid = 2*id for threads, 2*id+1 for comments).
PostgreSQL: GIN indexes on the same to_tsvector expressions app/search.py queries.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE search_index USING fts5(title, body, kind UNINDEXED, item_id UNINDEXED, "
    "discussion_id UNINDEXED, tokenize='porter unicode61 remove_diacritics 2')",
    """CREATE TRIGGER search_discussions_ai AFTER INSERT ON discussions BEGIN
         INSERT INTO search_index(rowid, title, body, kind, item_id, discussion_id)
         VALUES (new.id * 2, new.title, new.body, 'd', new.id, new.id);
       END""",
    """CREATE TRIGGER search_discussions_au AFTER UPDATE OF title, body ON discussions BEGIN
         DELETE FROM search_index WHERE rowid = old.id * 2;
         INSERT INTO search_index(rowid, title, body, kind, item_id, discussion_id)
         VALUES (new.id * 2, new.title, new.body, 'd', new.id, new.id);
       END""",
    """CREATE TRIGGER search_discussions_ad AFTER DELETE ON discussions BEGIN
         DELETE FROM search_index WHERE rowid = old.id * 2;
       END""",
    """CREATE TRIGGER search_comments_ai AFTER INSERT ON comments BEGIN
         INSERT INTO search_index(rowid, title, body, kind, item_id, discussion_id)
         VALUES (new.id * 2 + 1, '', new.body, 'c', new.id, new.discussion_id);
       END""",
    """CREATE TRIGGER search_comments_au AFTER UPDATE OF body, discussion_id ON comments BEGIN
         DELETE FROM search_index WHERE rowid = old.id * 2 + 1;
         INSERT INTO search_index(rowid, title, body, kind, item_id, discussion_id)
         VALUES (new.id * 2 + 1, '', new.body, 'c', new.id, new.discussion_id);
       END""",
    """CREATE TRIGGER search_comments_ad AFTER DELETE ON comments BEGIN
         DELETE FROM search_index WHERE rowid = old.id * 2 + 1;
       END""",
    # Index whatever already exists.
    "INSERT INTO search_index(rowid, title, body, kind, item_id, discussion_id) "
    "SELECT id * 2, title, body, 'd', id, id FROM discussions",
    "INSERT INTO search_index(rowid, title, body, kind, item_id, discussion_id) "
    "SELECT id * 2 + 1, '', body, 'c', id, discussion_id FROM comments",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_discussions_ai", "DROP TRIGGER IF EXISTS search_discussions_au",
    "DROP TRIGGER IF EXISTS search_discussions_ad", "DROP TRIGGER IF EXISTS search_comments_ai",
    "DROP TRIGGER IF EXISTS search_comments_au", "DROP TRIGGER IF EXISTS search_comments_ad",
    "DROP TABLE IF EXISTS search_index",
]
POSTGRES_UP = [
    "CREATE INDEX ix_discussions_search ON discussions USING gin "
    "(to_tsvector('english', coalesce(title, '') || ' ' || coalesce(body, '')))",
    "CREATE INDEX ix_comments_search ON comments USING gin (to_tsvector('english', coalesce(body, '')))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_discussions_search", "DROP INDEX IF EXISTS ix_comments_search"]


def upgrade():
    statements = SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP
    for statement in statements:
        op.execute(statement)


def downgrade():
    statements = SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN
    for statement in statements:
        op.execute(statement)
