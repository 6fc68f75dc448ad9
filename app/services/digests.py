"""Daily and weekly digests: who is due, what each one holds, and sending each exactly once.

Three steps, each safe to repeat:

1. `find_due(now)`: members whose digest hour has come in their own time zone today (daily) or
   this ISO week on their weekday (weekly), and who have no `DigestDelivery` for that period yet.
   "Has come" (not "is exactly") so a scheduler that was down, or a DST jump that skips the
   hour, delays a digest instead of losing it.
2. `build_batch(user_ids, period_keys, now)`: reads what every member of the batch has not seen,
   with a fixed number of queries whatever the batch size (no per-member queries).
3. `deliver_batch(...)`: builds, then claims `(user_id, period_key)` with one
   INSERT … ON CONFLICT DO NOTHING, queues only the claimed digests and commits claim and mail
   together. A second scheduler, a retried job or a worker killed mid-run therefore never sends
   a member two digests for one period: the unique key decides, in the same transaction.

Items up to the batch's snapshot event id count as delivered (`DigestDelivery.last_event_id`),
so the next digest starts after them; an empty digest is recorded but not sent.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from .. import policy
from ..email import messages, render_email
from ..email.headers import ListHeaders
from ..email.addresses import reply_address
from ..extensions import db
from ..models import (
    VOLUMES, Comment, DigestDelivery, Discussion, Event, Group, Membership, OutboundMessage, Outcome,
    Participation, Poll, PollOption, PollVoter, ReadState, Stance, User, utcnow,
)
from ..rendering import excerpt
from .errors import Invalid

log = logging.getLogger(__name__)

FREQUENCIES = ("off", "daily", "weekly")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
BATCH_SIZE = 500
# Events younger than this are left for the next digest: a transaction that took an id a little
# earlier may still be committing, and the watermark must never pass an event not yet visible.
SETTLE = timedelta(seconds=60)
# How far back a first digest looks, and the furthest any digest looks (after a long pause).
FIRST_LOOKBACK = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_LOOKBACK = {"daily": timedelta(days=7), "weekly": timedelta(days=14)}
CLOSING_SOON = timedelta(hours=24)
# A member handed to a batch job is not handed out again for this long (two schedulers).
PENDING_SECONDS = 900
CONTENT_KINDS = ("discussion_started", "comment_posted", "poll_created", "poll_closed", "outcome_created")
NO_STATE = (None, None, False)  # a thread the member never opened: (last_read_at, volume, participating)


# --- Who is due -------------------------------------------------------------------------

def zone(name: str | None) -> ZoneInfo | timezone:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc  # an unknown zone must not stop anyone's digest


def period_key(frequency: str, local: datetime) -> str:
    """`daily:2026-11-26` or `weekly:2026-W48`, in the member's local calendar."""
    if frequency == "weekly":
        year, week, _ = local.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    return f"daily:{local.date().isoformat()}"


def due_period(*, frequency: str, weekday: int, hour: int, time_zone: str, now: datetime,
               ignore_hour: bool = False) -> str | None:
    """The period whose digest is due at UTC instant `now`, or None if the hour has not come yet.

    Local time comes from zoneinfo, so it follows DST: an hour skipped in spring is served at the
    next local hour; an hour that happens twice in autumn has one period key, so one digest.
    """
    if frequency not in ("daily", "weekly"):
        return None
    local = now.astimezone(zone(time_zone))
    if not ignore_hour:
        if frequency == "daily" and local.hour < hour:
            return None
        if frequency == "weekly" and (local.weekday(), local.hour) < (weekday, hour):
            return None
    return period_key(frequency, local)


@dataclass(frozen=True)
class Due:
    user_id: int
    period_key: str


def _effective_frequency(frequency: str, has_digest_group: bool) -> str:
    # Choosing "digest" for a group with digests switched off would silently drop its mail.
    if frequency in ("daily", "weekly"):
        return frequency
    return "daily" if has_digest_group else "off"


def find_due(now: datetime, *, ignore_hour: bool = False, user_ids: list[int] | None = None) -> list[Due]:
    """Members due a digest at `now` that have not had one for the period (two queries)."""
    has_digest_group = exists().where(Membership.user_id == User.id, Membership.volume == "digest")
    home_group = (select(func.min(Membership.group_id)).where(Membership.user_id == User.id)
                  .correlate(User).scalar_subquery())
    query = (
        select(User.id, User.time_zone, User.digest_frequency, User.digest_weekday, User.digest_hour,
               has_digest_group.label("has_digest_group"), home_group.label("home"))
        .where(User.deleted_at.is_(None), User.email.is_not(None), User.email_suspended_at.is_(None),
               or_(User.digest_frequency.in_(("daily", "weekly")), has_digest_group))
    )
    if user_ids is not None:
        query = query.where(User.id.in_(user_ids))
    candidates = []
    for row in db.session.execute(query):
        frequency = _effective_frequency(row.digest_frequency, bool(row.has_digest_group))
        key = due_period(frequency=frequency, weekday=row.digest_weekday or 0, hour=row.digest_hour or 0,
                         time_zone=row.time_zone, now=now, ignore_hour=ignore_hour)
        if key is not None:
            candidates.append((row.home or 0, row.id, key))
    if not candidates:
        return []
    keys = {key for _, _, key in candidates}
    done = set(db.session.execute(
        select(DigestDelivery.user_id, DigestDelivery.period_key).where(DigestDelivery.period_key.in_(keys))
    ).tuples())
    # Sorted by home group so a batch covers few groups (its content query stays small).
    return [Due(uid, key) for _, uid, key in sorted(candidates) if (uid, key) not in done]


def batches(due: list[Due], size: int = BATCH_SIZE) -> list[list[Due]]:
    return [due[i:i + size] for i in range(0, len(due), size)]


@dataclass(frozen=True)
class DueBatch:
    """Members whose digests one batch job builds, with the moment they fell due."""

    user_ids: list[int]
    period_keys: list[str]
    now: datetime


def due_batches(now: datetime | None = None) -> list[DueBatch]:
    """The scheduler's step: the due members, each claimed for exactly one batch job.

    A Redis marker per member and period (SET NX, expiring) stops a second scheduler, or the next
    run before the batch is done, from handing the member out again; if the worker dies, the marker
    expires and the member is picked up again. The database claim stays the final word.
    """
    from ..queue import redis_client

    now = now or utcnow()
    due = find_due(now)
    if not due:
        return []
    redis = redis_client()
    pipe = redis.pipeline(transaction=False)
    for d in due:
        pipe.set(f"quorum:digest:pending:{d.user_id}:{d.period_key}", now.isoformat(), nx=True, ex=PENDING_SECONDS)
    mine = [d for d, ok in zip(due, pipe.execute()) if ok]
    return [DueBatch([d.user_id for d in batch], [d.period_key for d in batch], now) for batch in batches(mine)]


def run_due(now: datetime | None = None, *, ignore_hour: bool = False, member_email: str | None = None) -> dict:
    """Build and send, in this process, the digests due now (the CLI). Same guarantees as the jobs."""
    now = now or utcnow()
    user_ids = None
    if member_email is not None:
        from .accounts import user_by_email

        user = user_by_email(member_email)
        if user is None:
            raise Invalid(f"There is no member with the address {member_email}.", field="member")
        user_ids = [user.id]
    totals = {"due": 0, "sent": 0, "empty": 0, "skipped": 0}
    due = find_due(now, ignore_hour=ignore_hour, user_ids=user_ids)
    totals["due"] = len(due)
    for batch in batches(due):
        result = deliver_batch([d.user_id for d in batch], [d.period_key for d in batch], now=now)
        for name in ("sent", "empty", "skipped"):
            totals[name] += result[name]
    return totals


# --- What a digest holds -----------------------------------------------------------------

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
    local_date: str
    sections: list[GroupSection]
    last_event_id: int
    event_ids: list[int] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(s.item_count for s in self.sections)


def _name(name: str | None, email: str | None, deleted_at) -> str:
    if deleted_at is not None:
        from ..models import DELETED_MEMBER_NAME

        return DELETED_MEMBER_NAME
    return name or (email or "").split("@")[0] or "someone"


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
            .where(Membership.user_id.in_(user_ids), Membership.volume.in_(("digest", "all")),
                   Group.archived_at.is_(None))
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
                actor.deleted_at.label("actor_deleted_at"),
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
                Poll.closing_at > self.now, Poll.closing_at <= self.now + CLOSING_SOON,
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


def _results(poll: Poll, stances: list[Stance]) -> tuple[list[ResultRow], str]:
    """Counts per option only: a digest never names voters (anonymous or not) nor quotes reasons."""
    from ..polls import get_type

    try:
        results = get_type(poll.poll_type).tally(poll, stances)
    except Exception:  # an unreadable poll must not stop everyone's digest
        log.exception("could not tally poll %s for a digest", poll.id)
        return [], f"{len(stances)} voted"
    kind = get_type(poll.poll_type)
    voters = results.voter_count
    if kind.written_answers:
        return [], f"{voters} {'answer' if voters == 1 else 'answers'}"
    summary = f"{voters} {'person' if voters == 1 else 'people'} voted"
    return [ResultRow(row.name, kind.result_line(row)) for row in results.options], summary


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
                author = _name(ev.actor_name, ev.actor_email, ev.actor_deleted_at)
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
                if _poll_item(data, user, ev.poll_id, tz, polls) is not None:
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
            item = _poll_item(data, user, pid, tz, polls)
            if item is not None:
                item.state = "closing"
        section.threads = sorted(threads.values(), key=lambda t: t.first_seen)
        order = {"closing": 0, "open": 1, "closed": 2}
        section.polls = sorted(polls.values(), key=lambda p: (order[p.state], p.poll_id))
        if section.threads or section.polls:
            sections.append(section)
    local = data.now.astimezone(tz)
    return Digest(user=user, period_key=data.keys[uid], frequency=data.frequency(uid),
                  local_date=local.strftime("%A %-d %B %Y"), sections=sections,
                  last_event_id=max(data.snapshot, after), event_ids=event_ids)


def _may_vote(data: _BatchData, uid: int, poll: Poll) -> bool:
    # Mirrors policy.may_vote for a member of the poll's group (the only groups a digest reads).
    return poll.voter_scope == "group" or (uid, poll.id) in data.named_voters


def _poll_item(data: _BatchData, user: User, pid: int, tz, polls: dict[int, PollItem]) -> PollItem | None:
    if pid in polls:
        return polls[pid]
    poll = data.polls.get(pid)
    if poll is None or poll.deleted_at is not None:
        return None
    base = current_app.config["BASE_URL"]
    address = reply_address(user, "poll", pid)
    voted = (user.id, pid) in data.voted
    item = PollItem(pid, poll.title, f"{base}/p/{pid}", "closed" if poll.closed_at else "open",
                    poll.closing_at.astimezone(tz).strftime("%a %-d %b, %H:%M"), address,
                    _mailto(address, poll.title), voted=voted)
    if poll.closed_at is None:
        if not voted and _may_vote(data, user.id, poll):
            from ..polls import get_type

            item.instructions = get_type(poll.poll_type).help_text(poll)
    elif policy.results_visible(poll, voted=voted):
        item.results, item.results_summary = data.results.get(pid, ([], ""))
        item.outcome = data.outcomes.get(pid)
    polls[pid] = item
    return item


# --- Sending -----------------------------------------------------------------------------

def _insert(table):
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _way_out(digest: Digest) -> tuple[str, ListHeaders]:
    """The footer's "stop digests" link and the List-Unsubscribe headers (RFC 2369, 8058) of one digest.

    One click (or the mail client's unsubscribe button) stops digests: the https target takes a
    cookieless POST with a signed `digest_off` token; the mailto sends "digest off" to the member's
    reply address for the digest's first group, which the inbound commands read the same way.
    """
    from ..email import links

    token = links.make("digest_off", digest.user)
    mailto = reply_address(digest.user, "group", digest.sections[0].group_id)
    return links.url("digest_off", token), ListHeaders(
        unsubscribe_url=links.one_click_url(token, "digest_off"), unsubscribe_mailto=mailto, mailto_subject="digest off")


def deliver_batch(user_ids: list[int], period_keys: list[str], *, now: datetime) -> dict:
    """Build, claim and queue one batch; claim and mail commit together (the commit hands the mail to the send jobs)."""
    digests = build_batch(user_ids, period_keys, now)
    # Rendering is the slow part: do it before the write transaction starts.
    way_out = {d.user.id: _way_out(d) for d in digests if d.item_count}
    rendered = {d.user.id: render_email("digest", user=d.user, digest=d, digest_off_url=way_out[d.user.id][0])
                for d in digests if d.item_count}
    rows = [
        {"user_id": d.user.id, "period_key": d.period_key, "last_event_id": d.last_event_id,
         "item_count": d.item_count, "status": "sent" if d.item_count else "empty", "created_at": now}
        for d in digests
    ]
    claimed: set[tuple[int, str]] = set()
    if rows:
        statement = (_insert(DigestDelivery).values(rows)
                     .on_conflict_do_nothing(index_elements=["user_id", "period_key"])
                     .returning(DigestDelivery.user_id, DigestDelivery.period_key))
        claimed = set(db.session.execute(statement).tuples())
    sent = empty = 0
    for d in digests:
        if (d.user.id, d.period_key) not in claimed:
            continue
        if not d.item_count:
            empty += 1
            continue
        sent += 1
        messages.digest(user=d.user, period_key=d.period_key, rendered=rendered[d.user.id], lists=way_out[d.user.id][1])
    db.session.commit()
    return {"sent": sent, "empty": empty, "skipped": len(digests) - len(claimed)}


# --- Settings ----------------------------------------------------------------------------

def save_settings(*, user_id: int, frequency: str, weekday: str | int, hour: str | int,
                  volumes: dict[int, str]) -> User:
    """Save a member's digest schedule and per-group volumes (only for groups they belong to)."""
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise Invalid("Please sign in first.")
    if frequency not in FREQUENCIES:
        raise Invalid("Choose no digest, daily or weekly.", field="frequency")
    try:
        weekday, hour = int(weekday), int(hour)
    except (TypeError, ValueError):
        raise Invalid("Choose a day and an hour from the lists.", field="hour") from None
    if not 0 <= weekday <= 6:
        raise Invalid("Choose a day from the list.", field="weekday")
    if not 0 <= hour <= 23:
        raise Invalid("Choose an hour from the list.", field="hour")
    for gid, volume in volumes.items():
        if volume not in VOLUMES:
            raise Invalid("Choose one of the listed options for each group.", field=f"volume-{gid}")
    user.digest_frequency, user.digest_weekday, user.digest_hour = frequency, weekday, hour
    if volumes:
        for membership in db.session.scalars(
            select(Membership).where(Membership.user_id == user.id, Membership.group_id.in_(list(volumes)))
        ):
            membership.volume = volumes[membership.group_id]
    db.session.commit()
    return user


def memberships_for_settings(user_id: int) -> list[tuple[Membership, Group]]:
    return list(db.session.execute(
        select(Membership, Group).join(Group, Group.id == Membership.group_id)
        .where(Membership.user_id == user_id, Group.archived_at.is_(None)).order_by(func.lower(Group.name))
    ).tuples())
