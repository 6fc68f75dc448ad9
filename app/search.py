"""Full-text search over threads, comments, polls, outcomes and vote reasons, limited to what the person may see.

SQLite: the FTS5 tables `search_index` (threads, comments: migration 0002) and `decision_search_index`
(polls, outcomes, reasons: migration 0012), kept current by triggers.
PostgreSQL: to_tsvector / websearch_to_tsquery over GIN expression indexes (migrations 0002 and 0012).
Results are filtered in SQL to groups whose content the person may read, then checked once
more with the policy module, so nothing invisible is ever returned or counted. A vote reason is found
only where the poll page shows it beside its voter's name (`policy.findable_reasons`): an anonymous
poll's reasons are never found at all. Filters: a group, a kind (thread, poll, outcome), open or closed.
A search page makes the same number of queries however many results it has.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from sqlalchemy import and_, bindparam, column, func, literal, literal_column, or_, select, table, text, union_all
from sqlalchemy.orm import joinedload

from . import policy
from .extensions import db
from .i18n import _l, _lp
from .models import Discussion, Group, Outcome, Poll, Stance, User

# Tables outside the models (the schema test ignores them).
EXTRA_TABLES = ("search_index", "decision_search_index")
EXTRA_INDEXES = ("ix_discussions_search", "ix_comments_search", "ix_polls_search", "ix_outcomes_search",
                 "ix_stances_search")
KINDS = (("thread", _l("Threads and comments")), ("poll", _l("Polls and vote reasons")), ("outcome", _l("Outcomes")))
STATUSES = (("open", _lp("poll state", "Open")), ("closed", _lp("poll state", "Closed")))
# What each found item is, as the result line names it.
LABELS = {"discussion": _lp("search result", "thread"), "comment": _lp("search result", "comment"),
          "poll": _lp("search result", "poll"), "reason": _lp("search result", "vote reason"),
          "outcome": _lp("search result", "outcome")}
MARK_START, MARK_END = "\ue000", "\ue001"
QUERY_MAX = 200
LIMIT = 50


@dataclass
class Result:
    kind: str  # discussion | comment | poll | outcome | reason
    discussion: Discussion | None
    comment_id: int | None
    snippet: Markup
    poll: Poll | None = None
    author_name: str | None = None  # a vote reason's voter (never for an anonymous poll: none are found)

    @property
    def url(self) -> str:
        if self.poll is not None:
            return f"/p/{self.poll.id}"
        return f"/d/{self.discussion.id}" + (f"#c{self.comment_id}" if self.comment_id else "")

    @property
    def title(self) -> str:
        return self.poll.title if self.poll is not None else self.discussion.title

    @property
    def group(self) -> Group:
        return policy.poll_group(self.poll) if self.poll is not None else self.discussion.group

    @property
    def label(self) -> str:
        return str(LABELS.get(self.kind, self.kind))


@dataclass(frozen=True)
class Filters:
    """What a search is narrowed to; unknown values mean no filter (a hand-edited URL searches everything)."""

    group_id: int | None = None
    kind: str | None = None  # thread | poll | outcome
    status: str | None = None  # open | closed

    @classmethod
    def read(cls, group: str | None, kind: str | None, status: str | None) -> "Filters":
        group = (group or "").strip()
        return cls(int(group) if group.isdigit() and len(group) < 12 else None,
                   kind if kind in dict(KINDS) else None, status if status in dict(STATUSES) else None)


def reset_index() -> None:
    """Empty the SQLite index (tests truncate tables, which the triggers do not see)."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.begin() as conn:
            for name in EXTRA_TABLES:
                if conn.execute(text("SELECT 1 FROM sqlite_master WHERE name=:n"), {"n": name}).first():
                    conn.execute(text(f"DELETE FROM {name}"))


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


def search(user, q: str, *, limit: int = LIMIT, filters: Filters | None = None) -> list[Result]:
    q = (q or "").strip()[:QUERY_MAX]
    f = filters or Filters()
    group_ids = policy.visible_group_ids(user)
    # A guest's threads, in groups they may not otherwise read (-1: an IN list is never empty).
    thread_ids = policy.guest_discussion_ids(user) or [-1]
    if f.group_id is not None:
        group_ids = [g for g in group_ids if g == f.group_id]
    if not q or not (group_ids or thread_ids != [-1]):
        return []
    sqlite = db.engine.dialect.name == "sqlite"
    match = _fts_query(q) if sqlite else q
    if not match:
        return []
    hits: list[tuple[float, str, int, int, str]] = []  # (sort: lower first, kind, item id, discussion or poll id, snippet)
    if f.kind in (None, "thread"):
        rows = _thread_rows_sqlite if sqlite else _thread_rows_postgres
        hits += rows(match, group_ids or [-1], thread_ids, f, limit)
    if group_ids and f.kind in (None, "poll", "outcome"):
        hits += _decision_rows(match, group_ids, f, limit, sqlite)
    hits.sort(key=lambda h: (h[0], -int(h[2])))
    hits = hits[:limit]
    if not hits:
        return []
    policy.prime_memberships_in(user, group_ids)  # one query, so the checks below ask none per group
    thread_kinds = ("d", "c")
    discussions = {d.id: d for d in db.session.scalars(
        select(Discussion).options(joinedload(Discussion.group))
        .where(Discussion.id.in_({int(h[3]) for h in hits if h[1] in thread_kinds})))} if any(
        h[1] in thread_kinds for h in hits) else {}
    poll_ids = {int(h[3]) for h in hits if h[1] not in thread_kinds}
    polls = {p.id: p for p in db.session.scalars(
        select(Poll).options(joinedload(Poll.group), joinedload(Poll.discussion).joinedload(Discussion.group))
        .where(Poll.id.in_(poll_ids)))} if poll_ids else {}
    reason_ids = [int(h[2]) for h in hits if h[1] == "r"]
    voters = {stance_id: person for stance_id, person in db.session.execute(
        select(Stance.id, User).join(User, User.id == Stance.participant_id).where(Stance.id.in_(reason_ids)))
    } if reason_ids else {}
    results = []
    for _, kind, item_id, owner_id, snip in hits:
        # Belt and braces: the policy module has the last word on every result.
        if kind in thread_kinds:
            discussion = discussions.get(int(owner_id))
            if discussion is None or not policy.can_view_discussion(user, discussion):
                continue
            results.append(Result("discussion" if kind == "d" else "comment", discussion,
                                  None if kind == "d" else int(item_id), _highlight(snip)))
            continue
        poll = polls.get(int(owner_id))
        if poll is None or not policy.can_view_poll(user, poll):
            continue
        if kind == "r":
            if not policy.can_see_voters(user, poll):
                continue
            person = voters.get(int(item_id))
            results.append(Result("reason", poll.discussion, None, _highlight(snip), poll,
                                  person.display_name if person is not None else "A former member"))
        else:
            results.append(Result("poll" if kind == "p" else "outcome", poll.discussion, None, _highlight(snip), poll))
    return results


def _thread_rows_sqlite(match: str, group_ids: list[int], thread_ids: list[int], f: Filters,
                        limit: int) -> list[tuple]:
    status = {"open": "AND d.closed_at IS NULL", "closed": "AND d.closed_at IS NOT NULL"}.get(f.status or "", "")
    if f.group_id is not None:  # a guest's threads too are only those of the group asked for
        status += f" AND d.group_id = {int(f.group_id)}"
    sql = text(f"""
        SELECT s.rank AS score, s.kind, s.item_id, s.discussion_id,
               snippet(search_index, -1, '{MARK_START}', '{MARK_END}', '…', 16) AS snip
        FROM search_index s
        JOIN discussions d ON d.id = s.discussion_id
        LEFT JOIN comments c ON s.kind = 'c' AND c.id = s.item_id
        WHERE search_index MATCH :match AND d.deleted_at IS NULL AND (d.group_id IN :groups OR d.id IN :threads) {status}
          AND (s.kind = 'd' OR c.deleted_at IS NULL)
        ORDER BY rank LIMIT :limit""").bindparams(bindparam("groups", expanding=True), bindparam("threads", expanding=True))
    return [tuple(r) for r in db.session.execute(sql, {"match": match, "groups": group_ids, "threads": thread_ids,
                                                        "limit": limit})]


def _thread_rows_postgres(q: str, group_ids: list[int], thread_ids: list[int], f: Filters,
                          limit: int) -> list[tuple]:
    status = {"open": "AND d.closed_at IS NULL", "closed": "AND d.closed_at IS NOT NULL"}.get(f.status or "", "")
    if f.group_id is not None:  # a guest's threads too are only those of the group asked for
        status += f" AND d.group_id = {int(f.group_id)}"
    options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=10"
    sql = text(f"""
        SELECT -score, kind, item_id, discussion_id, snip FROM (
          SELECT 'd' AS kind, d.id AS item_id, d.id AS discussion_id,
                 ts_headline('english', d.title || ' — ' || d.body, query, '{options}') AS snip,
                 ts_rank(to_tsvector('english', coalesce(d.title, '') || ' ' || coalesce(d.body, '')), query) AS score
          FROM discussions d, websearch_to_tsquery('english', :q) query
          WHERE to_tsvector('english', coalesce(d.title, '') || ' ' || coalesce(d.body, '')) @@ query
            AND d.deleted_at IS NULL AND (d.group_id IN :groups OR d.id IN :threads) {status}
          UNION ALL
          SELECT 'c', c.id, c.discussion_id, ts_headline('english', c.body, query, '{options}'),
                 ts_rank(to_tsvector('english', coalesce(c.body, '')), query)
          FROM comments c JOIN discussions d ON d.id = c.discussion_id, websearch_to_tsquery('english', :q) query
          WHERE to_tsvector('english', coalesce(c.body, '')) @@ query
            AND c.deleted_at IS NULL AND d.deleted_at IS NULL AND (d.group_id IN :groups OR d.id IN :threads) {status}
        ) hits ORDER BY score DESC, item_id DESC LIMIT :limit""").bindparams(bindparam("groups", expanding=True),
                                                                            bindparam("threads", expanding=True))
    return [tuple(r) for r in db.session.execute(sql, {"q": q, "groups": group_ids, "threads": thread_ids, "limit": limit})]


def _decision_filters(f: Filters, group_ids: list[int]) -> list:
    """SQL: the polls the person may see (not drafts, not gone, in these groups), open or closed as asked."""
    conditions = [policy.polls_following(group_ids)]
    if f.status == "open":
        conditions.append(Poll.closed_at.is_(None))
    elif f.status == "closed":
        conditions.append(Poll.closed_at.is_not(None))
    return conditions


def _decision_rows(match: str, group_ids: list[int], f: Filters, limit: int, sqlite: bool) -> list[tuple]:
    """Polls (title and details), latest outcomes and latest vote reasons that match, as (sort, kind, item id,
    poll id, snippet); reasons only where policy.findable_reasons allows (never an anonymous poll's)."""
    want_polls, want_outcomes = f.kind in (None, "poll"), f.kind in (None, "outcome")
    polls, stances, outcomes = Poll.__table__, Stance.__table__, Outcome.__table__
    if sqlite:
        fts = table("decision_search_index", column("kind"), column("item_id"), column("poll_id"))
        kinds = []
        if want_polls:
            kinds += [fts.c.kind == "p", and_(fts.c.kind == "r", Stance.latest.is_(True), policy.findable_reasons())]
        if want_outcomes:
            kinds.append(and_(fts.c.kind == "o", Outcome.latest.is_(True)))
        rank = literal_column("decision_search_index.rank")
        stmt = (
            select(rank, fts.c.kind, fts.c.item_id, fts.c.poll_id, literal_column(
                f"snippet(decision_search_index, -1, '{MARK_START}', '{MARK_END}', '…', 16)"))
            .select_from(fts.join(polls, Poll.id == fts.c.poll_id)
                         .outerjoin(stances, and_(fts.c.kind == "r", Stance.id == fts.c.item_id))
                         .outerjoin(outcomes, and_(fts.c.kind == "o", Outcome.id == fts.c.item_id)))
            .where(text("decision_search_index MATCH :match").bindparams(match=match), or_(*kinds),
                   *_decision_filters(f, group_ids))
            .order_by(rank).limit(limit))
        return [tuple(r) for r in db.session.execute(stmt)]
    english = literal_column("'english'")
    query = func.websearch_to_tsquery(english, bindparam("q"))
    options = literal(f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=10")
    parts = []
    if want_polls:
        doc = literal_column("to_tsvector('english', coalesce(polls.title, '') || ' ' || coalesce(polls.details, ''))")
        parts.append(select(literal_column("'p'").label("kind"), Poll.id.label("item_id"), Poll.id.label("poll_id"),
                            _headline(english, literal_column("coalesce(polls.title, '') || ' — ' || coalesce(polls.details, '')"),
                                      query, options),
                            _rank(doc, query))
                     .where(doc.op("@@")(query), *_decision_filters(f, group_ids)))
        doc = literal_column("to_tsvector('english', coalesce(stances.reason, ''))")
        parts.append(select(literal_column("'r'").label("kind"), Stance.id.label("item_id"), Stance.poll_id.label("poll_id"),
                            _headline(english, Stance.reason, query, options), _rank(doc, query))
                     .select_from(stances.join(polls, Poll.id == Stance.poll_id))
                     .where(doc.op("@@")(query), Stance.latest.is_(True), policy.findable_reasons(),
                            *_decision_filters(f, group_ids)))
    if want_outcomes:
        doc = literal_column("to_tsvector('english', coalesce(outcomes.statement, ''))")
        parts.append(select(literal_column("'o'").label("kind"), Outcome.id.label("item_id"), Outcome.poll_id.label("poll_id"),
                            _headline(english, Outcome.statement, query, options), _rank(doc, query))
                     .select_from(outcomes.join(polls, Poll.id == Outcome.poll_id))
                     .where(doc.op("@@")(query), Outcome.latest.is_(True), *_decision_filters(f, group_ids)))
    hits = union_all(*parts).subquery()
    stmt = (select(-hits.c.score, hits.c.kind, hits.c.item_id, hits.c.poll_id, hits.c.snip)
            .order_by(hits.c.score.desc(), hits.c.item_id.desc()).limit(limit))
    return [tuple(r) for r in db.session.execute(stmt, {"q": match})]


def _headline(english, document, query, options):
    return func.ts_headline(english, document, query, options).label("snip")


def _rank(doc, query):
    return func.ts_rank(doc, query).label("score")


def searchable_groups(user) -> list[Group]:
    """The groups whose content this person may read, by name (the search form's group filter)."""
    ids = policy.visible_group_ids(user)
    if not ids:
        return []
    return list(db.session.scalars(select(Group).where(Group.id.in_(ids)).order_by(Group.name, Group.id)))
