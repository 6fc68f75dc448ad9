"""What one digest holds: what the member has not seen, per group, with a constant number of
queries for a whole batch of members."""
from __future__ import annotations

import logging

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from flask import current_app
from flask_babel.speaklater import LazyString
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ... import policy
from ...email.addresses import reply_address
from ...extensions import db
from ...i18n import _n
from ...models.users import display_name
from ...timezones import local_time, zone
from ...models import (
    Comment, DigestDelivery, Discussion, Event, Group, Membership, OutboundMessage, Outcome,
    Participation, Poll, PollOption, PollVoter, ReadState, Stance, User,
)
from ...rendering import excerpt
from ..polls.common import CLOSING_SOON

log = logging.getLogger(__name__)


# Events younger than this are left for the next digest: a transaction that took an id a little
# earlier may still be committing, and the watermark must never pass an event not yet visible.
SETTLE = timedelta(seconds=60)


# How far back a first digest looks, and the furthest any digest looks (after a long pause).
FIRST_LOOKBACK = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_LOOKBACK = {"daily": timedelta(days=7), "weekly": timedelta(days=14)}
CONTENT_KINDS = ("discussion_started", "comment_posted", "poll_created", "poll_closed", "outcome_created")
NO_STATE = (None, None, False)  # a thread the member never opened: (last_read_at, volume, participating)


@dataclass
class CommentItem:
    comment_id: int
    author: str
    text: str
    created_at: datetime
    reply_to: str
    mailto: str


@dataclass
class ThreadItem:
    discussion_id: int
    title: str
    url: str
    first_seen: int  # event id, for ordering
    is_new: bool = False
    author: str = ""
    first_paragraph: str = ""
    reply_to: str = ""
    mailto: str = ""
    comments: list[CommentItem] = field(default_factory=list)


@dataclass
class ResultRow:
    name: str
    text: str
    option_id: int | None = None


@dataclass
class PollItem:
    poll_id: int
    title: str
    url: str
    state: str  # open | closing | closed
    closes_at: str
    reply_to: str
    mailto: str
    instructions: str | None = None  # how to vote by reply, if the member may vote and has not
    voted: bool = False
    results: list[ResultRow] = field(default_factory=list)
    results_summary: str = ""
    outcome: str | None = None
    outcome_slot: str | None = None  # a meeting's chosen time, in the reader's zone


@dataclass
class GroupSection:
    group_id: int
    name: str
    handle: str
    url: str
    threads: list[ThreadItem] = field(default_factory=list)
    polls: list[PollItem] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(int(t.is_new) + len(t.comments) for t in self.threads) + len(self.polls)


@dataclass
class Digest:
    user: User
    period_key: str
    frequency: str
    local_day: datetime  # now, in the member's zone (shown as a date in their language: local_date)
    sections: list[GroupSection]
    last_event_id: int
    event_ids: list[int] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(s.item_count for s in self.sections)

    @property
    def local_date(self) -> str:
        """ "Thursday 3 December 2026" in the language the digest is being rendered in."""
        from ...i18n import localized_time

        return localized_time(self.local_day, self.local_day.tzinfo, "%A %-d %B %Y")


def first_paragraph(body: str, length: int = 400) -> str:
    text = (body or "").replace("\r\n", "\n").strip()
    return excerpt(text.split("\n\n", 1)[0], length)


def _mailto(address: str, title: str) -> str:
    return f"mailto:{address}?subject={quote('Re: ' + title, safe='')}"


class _BatchData:
    """Everything one batch reads, each loaded with one query for all its members."""

    def __init__(self, user_ids: list[int], period_keys: list[str], now: datetime):
        self.now = now
        self.keys = dict(zip(user_ids, period_keys))
        self.users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        # Groups a member gets by digest: volume "digest", or "all" (then only what mail missed).
        self.groups: dict[int, dict[int, str]] = defaultdict(dict)
        self.group_info: dict[int, tuple[str, str]] = {}
        for uid, gid, volume, name, handle in db.session.execute(
            select(Membership.user_id, Membership.group_id, Membership.volume, Group.name, Group.handle)
            .join(Group, Group.id == Membership.group_id)
            .where(Membership.user_id.in_(user_ids), Membership.volume.in_(("digest", "all")), policy.listed())
        ):
            self.groups[uid][gid] = volume
            self.group_info[gid] = (name, handle)
        self.previous: dict[int, tuple[int, datetime]] = {
            uid: (last or 0, at) for uid, last, at in db.session.execute(
                select(DigestDelivery.user_id, func.max(DigestDelivery.last_event_id), func.max(DigestDelivery.created_at))
                .where(DigestDelivery.user_id.in_(user_ids), DigestDelivery.status.in_(("sent", "empty")))
                .group_by(DigestDelivery.user_id)
            )
        }
        self.snapshot = db.session.scalar(select(func.max(Event.id)).where(Event.created_at <= now - SETTLE)) or 0
        self.bounds = {uid: self._bounds(uid) for uid in user_ids}
        self._load_events()
        self._load_member_state(user_ids)

    def frequency(self, uid: int) -> str:
        return self.keys[uid].split(":", 1)[0]

    def _bounds(self, uid: int) -> tuple[int, datetime]:
        """(after event id, not before time) for this member's digest."""
        frequency = self.frequency(uid)
        if uid in self.previous:
            return self.previous[uid][0], self.now - MAX_LOOKBACK.get(frequency, MAX_LOOKBACK["daily"])
        return 0, self.now - FIRST_LOOKBACK.get(frequency, FIRST_LOOKBACK["daily"])

    def _load_events(self) -> None:
        group_ids = {gid for groups in self.groups.values() for gid in groups}
        self.events_by_group: dict[int, list] = defaultdict(list)
        self.discussion_ids: set[int] = set()
        self.poll_ids: set[int] = set()
        if not group_ids or not self.bounds:
            self.closing_poll_ids: set[int] = set()
            self.polls: dict[int, Poll] = {}
            return
        after = min(b[0] for b in self.bounds.values())
        since = min(b[1] for b in self.bounds.values())
        actor = aliased(User)
        rows = db.session.execute(
            select(
                Event.id, Event.kind, Event.created_at, Event.actor_id, Event.fanned_out_at,
                Event.discussion_id, Event.comment_id, Event.poll_id,
                func.coalesce(Poll.group_id, Discussion.group_id).label("group_id"),
                func.coalesce(Poll.discussion_id, Discussion.id).label("thread_id"),
                Discussion.title.label("thread_title"),
                case((Event.kind == "discussion_started", Discussion.body), else_=None).label("thread_body"),
                Comment.body.label("comment_body"),
                Poll.title.label("poll_title"), Poll.closed_at.label("poll_closed_at"),
                actor.name.label("actor_name"), actor.email.label("actor_email"),
                actor.deleted_at.label("actor_deleted_at"), actor.bot_group_id.label("actor_bot_group_id"),
            )
            .outerjoin(Poll, Poll.id == Event.poll_id)
            .outerjoin(Discussion, Discussion.id == func.coalesce(Poll.discussion_id, Event.discussion_id))
            .outerjoin(Comment, Comment.id == Event.comment_id)
            .outerjoin(actor, actor.id == Event.actor_id)
            .where(
                Event.id > after, Event.id <= self.snapshot, Event.created_at >= since,
                Event.kind.in_(CONTENT_KINDS),
                func.coalesce(Poll.group_id, Discussion.group_id).in_(group_ids),
                Discussion.deleted_at.is_(None), Poll.deleted_at.is_(None), Comment.deleted_at.is_(None),
                # A comment's event must name a comment that still exists, and so on.
                or_(Event.kind != "comment_posted", Comment.id.is_not(None)),
                or_(Event.poll_id.is_(None), Poll.id.is_not(None)),
            )
            .order_by(Event.id)
        ).all()
        for row in rows:
            self.events_by_group[row.group_id].append(row)
            if row.thread_id:
                self.discussion_ids.add(row.thread_id)
            if row.poll_id:
                self.poll_ids.add(row.poll_id)
        # Polls closing within a day: a state, not an event, so asked for directly.
        closing = db.session.execute(
            select(Poll.id, Poll.discussion_id).where(
                Poll.group_id.in_(group_ids), Poll.closed_at.is_(None), Poll.deleted_at.is_(None),
                Poll.draft.is_(False), Poll.closing_at > self.now, Poll.closing_at <= self.now + CLOSING_SOON,
            )
        ).all()
        self.closing_poll_ids = {pid for pid, _ in closing}
        self.discussion_ids.update(did for _, did in closing if did)
        self.poll_ids |= self.closing_poll_ids
        self.polls = {}
        if self.poll_ids:
            self.polls = {p.id: p for p in db.session.scalars(select(Poll).where(Poll.id.in_(self.poll_ids)))}
            options = defaultdict(list)
            for option in db.session.scalars(select(PollOption).where(PollOption.poll_id.in_(self.poll_ids))):
                options[option.poll_id].append(option)
            for pid, poll in self.polls.items():
                set_committed_value(poll, "options", sorted(options[pid], key=lambda o: (o.priority, o.id)))

    def _load_member_state(self, user_ids: list[int]) -> None:
        self.read: dict[tuple[int, int], tuple] = {}
        if self.discussion_ids:
            for uid, did, last_read_at, volume, participating in db.session.execute(
                select(ReadState.user_id, ReadState.discussion_id, ReadState.last_read_at, ReadState.volume,
                       ReadState.participating)
                .where(ReadState.user_id.in_(user_ids), ReadState.discussion_id.in_(self.discussion_ids))
            ):
                self.read[(uid, did)] = (last_read_at, volume, participating)
        first_event = min((rows[0].id for rows in self.events_by_group.values() if rows), default=None)
        self.emailed: set[tuple[int, int]] = set()
        if first_event is not None:
            self.emailed = set(db.session.execute(
                select(OutboundMessage.user_id, OutboundMessage.event_id)
                .where(OutboundMessage.user_id.in_(user_ids), OutboundMessage.event_id >= first_event)
            ).tuples())
        open_ids = [pid for pid, p in self.polls.items() if p.closed_at is None]
        closed_ids = [pid for pid, p in self.polls.items() if p.closed_at is not None]
        self.voted: set[tuple[int, int]] = set()
        self.named_voters: set[tuple[int, int]] = set()
        if open_ids:
            self.voted = set(db.session.execute(
                select(Participation.user_id, Participation.poll_id)
                .where(Participation.poll_id.in_(open_ids), Participation.user_id.in_(user_ids))
            ).tuples())
            self.named_voters = set(db.session.execute(
                select(PollVoter.user_id, PollVoter.poll_id)
                .where(PollVoter.poll_id.in_(open_ids), PollVoter.user_id.in_(user_ids))
            ).tuples())
        self.results: dict[int, tuple[list[ResultRow], str]] = {}
        self.outcomes: dict[int, str] = {}
        self.outcome_options: dict[int, int] = {}  # a meeting's chosen slot, by poll
        if closed_ids:
            stances = defaultdict(list)
            for stance in db.session.scalars(
                select(Stance).options(selectinload(Stance.stance_choices))
                .where(Stance.poll_id.in_(closed_ids), Stance.latest.is_(True))
            ):
                stances[stance.poll_id].append(stance)
            for pid in closed_ids:
                self.results[pid] = _results(self.polls[pid], stances[pid])
            self.outcomes = {pid: statement for pid, statement in db.session.execute(
                select(Outcome.poll_id, Outcome.statement).where(Outcome.poll_id.in_(closed_ids), Outcome.latest.is_(True))
            )}
            self.outcome_options = {pid: oid for pid, oid in db.session.execute(
                select(Outcome.poll_id, Outcome.poll_option_id).where(
                    Outcome.poll_id.in_(closed_ids), Outcome.latest.is_(True), Outcome.poll_option_id.is_not(None))
            )}


def _results(poll: Poll, stances: list[Stance]) -> tuple[list[ResultRow], str]:
    """Counts per option only: a digest never names voters (anonymous or not) nor quotes reasons."""
    from ...polls import get_type

    try:
        kind = get_type(poll.poll_type)
        results = kind.tally(poll, stances)
    except Exception:  # an unreadable poll must not stop everyone's digest
        log.exception("could not tally poll %s for a digest", poll.id)
        count = len(stances)  # written in the reader's language when the digest is rendered
        return [], LazyString(lambda: _n("%(num)s voted", "%(num)s voted", count))
    voters = results.voter_count
    if kind.written_answers:
        return [], LazyString(lambda: _n("%(num)s answer", "%(num)s answers", voters))
    summary = LazyString(lambda: _n("%(num)s person voted", "%(num)s people voted", voters))
    return [ResultRow(row.name, kind.result_line(row), row.option_id) for row in results.options], summary


def build_batch(user_ids: list[int], period_keys: list[str], now: datetime) -> list[Digest]:
    """Each member's digest (possibly empty), built with a fixed number of queries for the batch."""
    data = _BatchData(user_ids, period_keys, now)
    return [_digest_for(data, uid) for uid in user_ids if uid in data.users]


def _digest_for(data: _BatchData, uid: int) -> Digest:
    user = data.users[uid]
    base = current_app.config["BASE_URL"]
    after, since = data.bounds[uid]
    prev_at = data.previous.get(uid, (0, None))[1]
    tz = zone(user.time_zone)
    sections = []
    event_ids = []
    for gid, volume in sorted(data.groups.get(uid, {}).items(), key=lambda kv: data.group_info[kv[0]][0].lower()):
        name, handle = data.group_info[gid]
        section = GroupSection(gid, name, handle, f"{base}/g/{handle}")
        threads: dict[int, ThreadItem] = {}
        polls: dict[int, PollItem] = {}
        for ev in data.events_by_group.get(gid, ()):
            if ev.id <= after or ev.created_at < since or ev.actor_id == uid:
                continue
            if (uid, ev.id) in data.emailed:
                continue  # already received by email
            last_read, thread_volume, participating = data.read.get((uid, ev.thread_id), NO_STATE)
            if thread_volume in ("mute", "mentions"):
                continue
            # Where fan-out emails at once (see services.notifications.decide), wait for its decision:
            # the digest carries only what that mail did not.
            if (thread_volume or ("all" if participating else volume)) == "all" and ev.fanned_out_at is None:
                continue
            if last_read is not None and last_read >= ev.created_at:
                continue  # read on the web
            if ev.kind in ("discussion_started", "comment_posted"):
                thread = threads.get(ev.thread_id)
                if thread is None:
                    thread = threads[ev.thread_id] = ThreadItem(
                        ev.thread_id, ev.thread_title, f"{base}/d/{ev.thread_id}", ev.id)
                    thread.reply_to = reply_address(user, "discussion", ev.thread_id)
                    thread.mailto = _mailto(thread.reply_to, ev.thread_title)
                author = display_name(ev.actor_name, ev.actor_email, ev.actor_deleted_at,
                                      bot=ev.actor_bot_group_id is not None)
                if ev.kind == "discussion_started":
                    thread.is_new, thread.author = True, author
                    thread.first_paragraph = first_paragraph(ev.thread_body)
                else:
                    address = reply_address(user, "comment", ev.comment_id)
                    thread.comments.append(CommentItem(ev.comment_id, author, excerpt(ev.comment_body, 300),
                                                       ev.created_at, address, _mailto(address, ev.thread_title)))
                event_ids.append(ev.id)
            else:
                poll = data.polls.get(ev.poll_id)
                if poll is None:
                    continue
                if ev.kind == "poll_created" and poll.closed_at is not None:
                    continue  # shown with its results, if it closed in time for them
                if ev.kind in ("poll_closed", "outcome_created") and poll.closed_at is None:
                    continue  # reopened since
                if _poll_item(data, user, ev.poll_id, polls) is not None:
                    event_ids.append(ev.id)
        # Closing soon: in "all" groups the reminder email covers it.
        for pid in sorted(data.closing_poll_ids) if volume == "digest" else ():
            poll = data.polls[pid]
            if poll.group_id != gid or (uid, pid) in data.voted:
                continue
            if poll.discussion_id and data.read.get((uid, poll.discussion_id), NO_STATE)[1] in ("mute", "mentions"):
                continue
            if not _may_vote(data, uid, poll):
                continue
            # Already announced as closing soon in the previous digest?
            if prev_at is not None and poll.closing_at <= prev_at + CLOSING_SOON:
                continue
            item = _poll_item(data, user, pid, polls)
            if item is not None:
                item.state = "closing"
        section.threads = sorted(threads.values(), key=lambda t: t.first_seen)
        order = {"closing": 0, "open": 1, "closed": 2}
        section.polls = sorted(polls.values(), key=lambda p: (order[p.state], p.poll_id))
        if section.threads or section.polls:
            sections.append(section)
    local = data.now.astimezone(tz)
    return Digest(user=user, period_key=data.keys[uid], frequency=data.frequency(uid),
                  local_day=local, sections=sections,
                  last_event_id=max(data.snapshot, after), event_ids=event_ids)


def _may_vote(data: _BatchData, uid: int, poll: Poll) -> bool:
    # Mirrors policy.may_vote for a member of the poll's group (the only groups a digest reads).
    return poll.voter_scope == "group" or (uid, poll.id) in data.named_voters


def _poll_item(data: _BatchData, user: User, pid: int, polls: dict[int, PollItem]) -> PollItem | None:
    if pid in polls:
        return polls[pid]
    poll = data.polls.get(pid)
    if poll is None or poll.deleted_at is not None:
        return None
    base = current_app.config["BASE_URL"]
    address = reply_address(user, "poll", pid)
    voted = (user.id, pid) in data.voted
    item = PollItem(pid, poll.title, f"{base}/p/{pid}", "closed" if poll.closed_at else "open",
                    local_time(poll.closing_at, user.time_zone, "%a %-d %b, %H:%M"), address,
                    _mailto(address, poll.title), voted=voted)
    if poll.closed_at is None:
        if not voted and _may_vote(data, user.id, poll):
            from ...polls import get_type

            item.instructions = get_type(poll.poll_type).help_text(poll, user.time_zone)
    elif policy.results_visible(poll, voted=voted):
        from ...polls import get_type

        rows, item.results_summary = data.results.get(pid, ([], ""))
        kind, options = get_type(poll.poll_type), {o.id: o for o in poll.options}
        item.results = [ResultRow(kind.option_label(options[r.option_id], user.time_zone), r.text, r.option_id)
                        if r.option_id in options else r for r in rows]  # time slots in the reader's zone
        item.outcome = data.outcomes.get(pid)
        chosen = options.get(data.outcome_options.get(pid))
        if item.outcome is not None and chosen is not None and chosen.starts_at is not None:
            item.outcome_slot = kind.option_label(chosen, user.time_zone)
    polls[pid] = item
    return item
