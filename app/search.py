"""Full-text search over threads and comments, limited to what the person may see.

SQLite: the FTS5 table `search_index`, kept current by triggers (migration 0002).
PostgreSQL: to_tsvector / websearch_to_tsquery over GIN expression indexes (migration 0002).
Results are filtered in SQL to groups whose content the person may read, then checked once
more with the policy module, so nothing invisible is ever returned or counted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import joinedload

from . import policy
from .extensions import db
from .models import Discussion

# Tables outside the models (the schema test ignores them).
EXTRA_TABLES = ("search_index",)
EXTRA_INDEXES = ("ix_discussions_search", "ix_comments_search")
MARK_START, MARK_END = "\ue000", "\ue001"
QUERY_MAX = 200
LIMIT = 50


@dataclass
class Result:
    kind: str  # discussion | comment
    discussion: Discussion
    comment_id: int | None
    snippet: Markup

    @property
    def url(self) -> str:
        return f"/d/{self.discussion.id}" + (f"#c{self.comment_id}" if self.comment_id else "")


def reset_index() -> None:
    """Empty the SQLite index (tests truncate tables, which the triggers do not see)."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.begin() as conn:
            if conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='search_index'")).first():
                conn.execute(text("DELETE FROM search_index"))


def _fts_query(q: str) -> str:
    """Words only, each quoted, so FTS5 syntax typed by a person can never be an error; an OR
    between two words means either, as on the web and in PostgreSQL's websearch_to_tsquery (a
    dangling OR, as in "roof OR", is dropped rather than searched for)."""
    parts: list[str] = []
    either = False
    for word in re.findall(r"\w+", q)[:20]:
        if word == "OR":
            either = bool(parts)
            continue
        if either:
            parts.append("OR")
        parts.append('"' + word.replace('"', "") + '"')
        either = False
    return " ".join(parts)


def _highlight(raw: str) -> Markup:
    html = str(escape(" ".join((raw or "").split())))
    return Markup(html.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def search(user, q: str, *, limit: int = LIMIT) -> list[Result]:
    q = (q or "").strip()[:QUERY_MAX]
    group_ids = policy.visible_group_ids(user)
    # A guest's threads, in groups they may not otherwise read (-1: an IN list is never empty).
    thread_ids = policy.guest_discussion_ids(user) or [-1]
    if not q or not (group_ids or thread_ids != [-1]):
        return []
    group_ids = group_ids or [-1]
    if db.engine.dialect.name == "sqlite":
        match = _fts_query(q)
        if not match:
            return []
        sql = text(f"""
            SELECT s.kind, s.item_id, s.discussion_id,
                   snippet(search_index, -1, '{MARK_START}', '{MARK_END}', '…', 16) AS snip
            FROM search_index s
            JOIN discussions d ON d.id = s.discussion_id
            LEFT JOIN comments c ON s.kind = 'c' AND c.id = s.item_id
            WHERE search_index MATCH :match AND d.deleted_at IS NULL AND (d.group_id IN :groups OR d.id IN :threads)
              AND (s.kind = 'd' OR c.deleted_at IS NULL)
            ORDER BY rank LIMIT :limit""").bindparams(bindparam("groups", expanding=True),
                                                      bindparam("threads", expanding=True))
        rows = db.session.execute(sql, {"match": match, "groups": group_ids, "threads": thread_ids,
                                        "limit": limit}).all()
    else:
        options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=10"
        sql = text(f"""
            SELECT kind, item_id, discussion_id, snip FROM (
              SELECT 'd' AS kind, d.id AS item_id, d.id AS discussion_id,
                     ts_headline('english', d.title || ' — ' || d.body, query, '{options}') AS snip,
                     ts_rank(to_tsvector('english', coalesce(d.title, '') || ' ' || coalesce(d.body, '')), query) AS score
              FROM discussions d, websearch_to_tsquery('english', :q) query
              WHERE to_tsvector('english', coalesce(d.title, '') || ' ' || coalesce(d.body, '')) @@ query
                AND d.deleted_at IS NULL AND (d.group_id IN :groups OR d.id IN :threads)
              UNION ALL
              SELECT 'c', c.id, c.discussion_id, ts_headline('english', c.body, query, '{options}'),
                     ts_rank(to_tsvector('english', coalesce(c.body, '')), query)
              FROM comments c JOIN discussions d ON d.id = c.discussion_id, websearch_to_tsquery('english', :q) query
              WHERE to_tsvector('english', coalesce(c.body, '')) @@ query
                AND c.deleted_at IS NULL AND d.deleted_at IS NULL AND (d.group_id IN :groups OR d.id IN :threads)
            ) hits ORDER BY score DESC, item_id DESC LIMIT :limit""").bindparams(bindparam("groups", expanding=True),
                                                                            bindparam("threads", expanding=True))
        rows = db.session.execute(sql, {"q": q, "groups": group_ids, "threads": thread_ids, "limit": limit}).all()
    if not rows:
        return []
    discussions = {d.id: d for d in db.session.scalars(
        select(Discussion).options(joinedload(Discussion.group))
        .where(Discussion.id.in_({row.discussion_id for row in rows})))}
    results = []
    for kind, item_id, discussion_id, snip in rows:
        discussion = discussions.get(int(discussion_id))
        # Belt and braces: the policy module has the last word on every result.
        if discussion is None or not policy.can_view_discussion(user, discussion):
            continue
        results.append(Result("discussion" if kind == "d" else "comment", discussion,
                              None if kind == "d" else int(item_id), _highlight(snip)))
    return results
