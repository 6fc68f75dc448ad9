"""Atom feeds (RFC 4287) of a group and of a thread, and the feed tokens that open private ones.

A feed holds what a feed reader should hear of: threads started, comments, decisions opened and
closed, and outcomes, each an entry with a stable id, its times, its author's name and its text as
sanitised HTML. Results and votes are never in a feed (anonymity and hidden results stay on the
poll page's rules). Who may read a feed is policy.can_read_feed; a private group's feed is read
with the member's feed token in the address, since a feed reader carries no cookie.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from flask import current_app
from markupsafe import escape
from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from .. import policy
from ..extensions import db
from ..models import Comment, Discussion, FeedToken, Group, Outcome, Poll, User, utcnow
from ..models.users import name_of
from ..polls import get_type
from ..rendering import markdown_to_html
from ..tokens import hash_token, random_token
from .accounts import acting_member
from ..i18n import _
from .errors import NotFound

ATOM = "http://www.w3.org/2005/Atom"
# Entries per feed: the newest of each kind, merged; a reader polls, it does not page back.
FEED_SIZE = 50
# The year in every entry id (RFC 4151 tag URIs): fixed, so an id never changes.
TAG_YEAR = "2026"
# Characters XML 1.0 cannot carry at all (a control character pasted into a comment).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- Feed tokens -----------------------------------------------------------------

def _hash(token: str) -> str:
    return hash_token("feed:" + token)


def issue_feed_token(*, user_id: int) -> str:
    """A new feed token for the member (the old one, if any, stops working). Shown once: only its hash is kept."""
    user = acting_member(user_id)
    token = random_token(24)
    db.session.execute(delete(FeedToken).where(FeedToken.user_id == user.id))
    db.session.add(FeedToken(user_id=user.id, token_hash=_hash(token)))
    db.session.commit()
    return token


def revoke_feed_token(*, user_id: int) -> bool:
    """End the member's feed token; True if there was one."""
    user = acting_member(user_id)
    gone = db.session.execute(delete(FeedToken).where(FeedToken.user_id == user.id)).rowcount
    db.session.commit()
    return bool(gone)


def feed_token_of(user_id: int) -> FeedToken | None:
    return db.session.scalar(select(FeedToken).where(FeedToken.user_id == user_id))


def reader_by_token(token: str) -> User | None:
    """The member a feed token belongs to, or None (unknown, revoked, or the account is erased)."""
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(select(User).join(FeedToken, FeedToken.user_id == User.id)
                             .where(FeedToken.token_hash == _hash(token)))
    return user if user is not None and user.deleted_at is None else None


# --- Entries -----------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    published: datetime
    updated: datetime
    author: str
    path: str
    html: str


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    subtitle: str
    path: str  # the page the feed is about
    self_path: str  # the feed itself, without a token
    entries: list[Entry]
    updated: datetime


def _tag(local: str) -> str:
    return f"tag:{current_app.config['MAIL_DOMAIN'].lower()},{TAG_YEAR}:{local}"


def _thread_entry(d: Discussion) -> Entry:
    return Entry(_tag(f"d{d.id}"), d.title, d.created_at, d.edited_at or d.created_at, name_of(d.author),
                 f"/d/{d.id}", markdown_to_html(d.body))


def _comment_entry(c: Comment) -> Entry:
    return Entry(_tag(f"d{c.discussion_id}.c{c.id}"), f"Re: {c.discussion.title}", c.created_at,
                 c.edited_at or c.created_at, name_of(c.author), f"/d/{c.discussion_id}#c{c.id}",
                 markdown_to_html(c.body))


def _poll_entry(p: Poll) -> Entry:
    label = get_type(p.poll_type).label or _("Decision")
    closes = f"<p>{escape(_('Closes %(time)s UTC.', time=f'{p.closing_at:%Y-%m-%d %H:%M}'))}</p>"
    return Entry(_tag(f"p{p.id}"), _("%(kind)s: %(title)s", kind=label, title=p.title), p.created_at, p.created_at, name_of(p.author),
                 f"/p/{p.id}", markdown_to_html(p.details) + closes)


def _closed_entry(p: Poll) -> Entry:
    return Entry(_tag(f"p{p.id}.closed"), _("Closed: %(title)s", title=p.title), p.closed_at, p.closed_at,
                 name_of(p.author), f"/p/{p.id}",
                 f"<p>{escape(_('This decision has closed. Its results are on its page.'))}</p>")


def _outcome_entry(o: Outcome, p: Poll) -> Entry:
    return Entry(_tag(f"p{p.id}.o{o.id}"), _("Outcome: %(title)s", title=p.title), o.created_at, o.created_at, name_of(o.author),
                 f"/p/{p.id}", markdown_to_html(o.statement))


def _entries(threads, comments, polls) -> list[Entry]:
    """The newest FEED_SIZE entries of threads, comments and polls (Selects, each limited), in a
    constant number of queries."""
    found = [_thread_entry(d) for d in db.session.scalars(
        threads.options(joinedload(Discussion.author)).order_by(Discussion.created_at.desc()).limit(FEED_SIZE))]
    found += [_comment_entry(c) for c in db.session.scalars(
        comments.options(joinedload(Comment.author), joinedload(Comment.discussion))
        .where(Comment.deleted_at.is_(None)).order_by(Comment.created_at.desc()).limit(FEED_SIZE))]
    opened = list(db.session.scalars(
        polls.options(joinedload(Poll.author)).order_by(Poll.created_at.desc()).limit(FEED_SIZE)))
    found += [_poll_entry(p) for p in opened]
    found += [_closed_entry(p) for p in db.session.scalars(
        polls.options(joinedload(Poll.author)).where(Poll.closed_at.is_not(None))
        .order_by(Poll.closed_at.desc()).limit(FEED_SIZE))]
    poll_ids = polls.with_only_columns(Poll.id).scalar_subquery()
    rows = db.session.execute(
        select(Outcome, Poll).options(joinedload(Outcome.author)).join(Poll, Poll.id == Outcome.poll_id)
        .where(Outcome.poll_id.in_(poll_ids), Outcome.latest.is_(True))
        .order_by(Outcome.created_at.desc()).limit(FEED_SIZE)).all()
    found += [_outcome_entry(o, p) for o, p in rows]
    found.sort(key=lambda e: (e.published, e.id), reverse=True)
    return found[:FEED_SIZE]


def group_feed(user, handle: str) -> Feed:
    """The group's feed, if this person may read it; NotFound otherwise (the same answer either way)."""
    group = db.session.scalar(select(Group).where(Group.handle == (handle or "").lower()))
    if group is None or not policy.can_read_feed(user, group):
        raise NotFound(_("There is no such feed."))
    live = select(Discussion.id).where(Discussion.group_id == group.id, Discussion.deleted_at.is_(None))
    entries = _entries(
        select(Discussion).where(Discussion.group_id == group.id, Discussion.deleted_at.is_(None)),
        select(Comment).where(Comment.discussion_id.in_(live)),
        select(Poll).where(policy.polls_following([group.id])))
    return Feed(_tag(f"g{group.id}"), group.name, group.description, f"/g/{group.handle}",
                f"/g/{group.handle}/feed.atom", entries, _newest(entries, group.created_at))


def thread_feed(user, discussion_id: int) -> Feed:
    """The thread's feed, if this person may read it; NotFound otherwise."""
    discussion = db.session.scalar(select(Discussion).options(joinedload(Discussion.group))
                                   .where(Discussion.id == discussion_id))
    if discussion is None or not policy.can_read_thread_feed(user, discussion):
        raise NotFound(_("There is no such feed."))
    entries = _entries(
        select(Discussion).where(Discussion.id == discussion.id),
        select(Comment).where(Comment.discussion_id == discussion.id),
        select(Poll).where(Poll.discussion_id == discussion.id, Poll.deleted_at.is_(None), Poll.draft.is_(False)))
    return Feed(_tag(f"d{discussion.id}"), discussion.title, discussion.group.name, f"/d/{discussion.id}",
                f"/d/{discussion.id}/feed.atom", entries, _newest(entries, discussion.created_at))


def _newest(entries: list[Entry], fallback: datetime) -> datetime:
    return max((e.updated for e in entries), default=fallback or utcnow())


# --- Atom --------------------------------------------------------------------------

def _clean(text: str) -> str:
    return _NOT_XML.sub("", text or "")


def _time(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def render_atom(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (UTF-8)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    root = ET.Element("feed", {"xmlns": ATOM})

    def add(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
        if text is not None:
            element.text = _clean(text)
        return element

    add(root, "id", feed.id)
    add(root, "title", feed.title)
    if feed.subtitle:
        add(root, "subtitle", feed.subtitle)
    add(root, "updated", _time(feed.updated))
    add(root, "link", rel="alternate", type="text/html", href=base + feed.path)
    add(root, "link", rel="self", type="application/atom+xml", href=base + feed.self_path)
    add(add(root, "author"), "name", "Quorum")
    add(root, "generator", "Quorum")
    for entry in feed.entries:
        item = add(root, "entry")
        add(item, "id", entry.id)
        add(item, "title", entry.title)
        add(item, "published", _time(entry.published))
        add(item, "updated", _time(entry.updated))
        add(add(item, "author"), "name", entry.author)
        add(item, "link", rel="alternate", type="text/html", href=base + entry.path)
        add(item, "content", entry.html, type_="html")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def member_groups(user_id: int) -> list[Group]:
    """The groups whose feeds the member's token opens (their own groups), by name, for the account page."""
    from ..models import Membership

    return list(db.session.scalars(select(Group).join(Membership, Membership.group_id == Group.id)
                                   .where(Membership.user_id == user_id).order_by(Group.name)))
