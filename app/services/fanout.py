"""Fan-out: decide who hears of an event, write their in-app notifications and queue their emails.

Run by jobs.fan_out_event after the event's transaction committed. Idempotent twice over:
event.fanned_out_at marks it done, and each email's dedupe_key ("event:<id>:user:<id>") is unique.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import policy
from ..email import messages
from ..email.notifications import EMAIL_KINDS, build, load_context
from ..extensions import db
from ..models import Event, Membership, Notification, Participation, PollVoter, ReadState, User, utcnow
from . import webhooks
from .notifications import decide
from .polls import tally

# Kinds that tell the poll's electorate something (the undecided get it as a direct nudge).
NUDGE_KINDS = ("poll_closing_soon", "poll_reminder")
# The changes of a poll_edited event that touch what voters could choose.
OPTION_CHANGES = {"options_added", "options_renamed", "options_removed"}


@dataclass(frozen=True)
class Recipient:
    user: User
    reason: str  # mention | reply | poll | thread | group
    email: bool
    notify: bool


def fan_out(event_id: int) -> int:
    """Notify everyone who should hear of the event; returns how many emails were queued."""
    query = select(Event).where(Event.id == event_id)
    if db.engine.dialect.name != "sqlite":
        query = query.with_for_update()  # two workers on one event: the second waits, then sees it done
    event = db.session.scalar(query)
    if event is None or event.fanned_out_at is not None:
        db.session.rollback()
        return 0
    mails = []
    if event.kind in EMAIL_KINDS:
        ctx = load_context(event, tally=tally)
        # A fan-out interrupted after committing some work must not write a notification twice.
        notified = set(db.session.scalars(select(Notification.user_id).where(Notification.event_id == event.id)))
        for recipient in (recipients(event, ctx) if ctx is not None else []):
            if recipient.notify and recipient.user.id not in notified:
                db.session.add(Notification(user_id=recipient.user.id, event_id=event.id, reason=recipient.reason))
            if recipient.email:
                mails.append(build(ctx, recipient.user, recipient.reason))
    rows = messages.notifications_about(mails)  # one dedupe query, one bulk insert
    webhooks.queue_deliveries(event)  # their commit below hands them to jobs
    queued = sum(1 for row in rows if row is not None and row.status == "queued")
    event.fanned_out_at = utcnow()
    db.session.commit()
    return queued


def recipients(event: Event, ctx) -> list[Recipient]:
    """Everyone who hears of this event, and how (pure decision; writes nothing)."""
    group, discussion, poll = ctx.group, ctx.discussion, ctx.poll
    data = event.data or {}
    memberships = {
        m.user_id: m for m in db.session.scalars(
            select(Membership).where(Membership.group_id == group.id).options(joinedload(Membership.user)))
    }
    states: dict[int, ReadState] = {}
    if discussion is not None:
        states = {s.user_id: s for s in db.session.scalars(
            select(ReadState).where(ReadState.discussion_id == discussion.id))}

    # The thread's guests hear of it like members who follow it (they were invited into it).
    guest_ids = policy.thread_guest_ids(discussion) if discussion is not None else set()
    # Told at once because the author named them (a person, a subgroup, the whole group), or @mentioned:
    # ids resolved when the text was posted (services/mentions); who may read it is checked below.
    told = {uid for uid in data.get("notify_ids") or [] if isinstance(uid, int) and not isinstance(uid, bool)}
    named_ids = {uid for uid in data.get("mentions") or [] if isinstance(uid, int) and not isinstance(uid, bool)}
    mentioned = resolve_mentions(data.get("mentions"), memberships)
    replied_to = {data["parent_author_id"]} if event.kind == "comment_posted" and data.get("parent_author_id") else set()
    voters: set[int] = set()
    participants: set[int] = set()
    candidates: dict[int, User] = {uid: m.user for uid, m in memberships.items()}
    beyond = (guest_ids | told | named_ids) - set(candidates)
    if beyond:  # guests, and subgroup members of an open group who may read it
        candidates.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(beyond)))})
        mentioned |= {uid for uid in named_ids if uid in candidates and candidates[uid].deleted_at is None}
    named: set[int] = set()
    if poll is not None:
        named = {uid for uid in db.session.scalars(select(PollVoter.user_id).where(PollVoter.poll_id == poll.id))
                 if uid is not None}
        voters = named | (set(memberships) if poll.voter_scope == "group" else set())
        participants = set(db.session.scalars(select(Participation.user_id).where(Participation.poll_id == poll.id)))
        outsiders = named - set(candidates)
        if outsiders:
            candidates.update({u.id: u for u in db.session.scalars(select(User).where(User.id.in_(outsiders)))})
    if event.kind in NUDGE_KINDS:
        chosen = data.get("recipient_ids") or data.get("user_ids")
        nudged = set(chosen) & voters if chosen else voters
        if data.get("audience") == "author":  # a closing-soon notice for the author, voter or not
            nudged = set(chosen) & set(candidates)
        if data.get("audience") not in ("author", "everyone"):
            nudged -= participants  # only the undecided are reminded
        candidates = {uid: u for uid, u in candidates.items() if uid in nudged}
    elif event.kind == "outcome_review_due":  # the author alone: time to look at the decision again
        candidates = {uid: u for uid, u in candidates.items() if uid in set(data.get("recipient_ids") or [])}
    elif event.kind == "poll_created":
        pass  # the group hears of it by volume; the electorate directly
    elif event.kind == "poll_edited":
        # Those who voted hear of a change to what they could choose; a new title or time tells nobody.
        # (who had voted when it changed: a removal can leave a voter undecided)
        told = set(data.get("voter_ids", participants)) if set(data.get("changes") or {}) & OPTION_CHANGES else set()
        candidates = {uid: u for uid, u in candidates.items() if uid in told}
    direct_poll = voters if event.kind in ("poll_created", *NUDGE_KINDS) else set()
    if event.kind == "poll_edited":
        direct_poll = set(data.get("voter_ids", participants))
    if event.kind == "outcome_review_due" or data.get("audience") == "author":
        direct_poll = set(data.get("recipient_ids") or [])
    if event.kind == "poll_closed" and poll is not None and poll.author_id:
        direct_poll = {poll.author_id}  # the author is asked to write the outcome

    # Who may see what the event is about: the policy module's rules, decided for everyone at once.
    member_ids = set(memberships)
    people = [user for user in candidates.values() if user is not None]
    if poll is not None:
        viewers = policy.poll_viewers(people, poll, member_ids, named, guest_ids)
    elif discussion is not None:
        viewers = policy.discussion_viewers(people, discussion, member_ids, guest_ids)
    else:
        viewers = set()

    out = []
    for uid, user in candidates.items():
        if uid == event.actor_id or user is None or user.deleted_at is not None:
            continue
        reason = ("mention" if uid in mentioned else "reply" if uid in replied_to
                  else "notify" if uid in told else "poll" if uid in direct_poll else None)
        state = states.get(uid)
        membership = memberships.get(uid)
        participating = bool(state and state.participating) or uid in participants or uid in guest_ids
        delivery = decide(group_volume=membership.volume if membership else "all",
                          thread_volume=state.volume if state else None,
                          participating=participating, direct=reason is not None)
        if uid in told and not delivery.email:  # named to be told at once: mailed now, whatever their
            muted = "mute" in (membership.volume if membership else None, state.volume if state else None)
            delivery = type(delivery)(email=not muted, notify=True)  # volume, unless they muted it
        if not (delivery.email or delivery.notify):
            continue
        if uid not in viewers:
            continue
        if reason is None and membership is None and uid in guest_ids:
            reason = "guest"  # their mail's footer is a guest's (mute the thread), not a member's
        if reason is None:
            reason = "thread" if participating or (state and state.volume) else "group"
        email = delivery.email and bool(user.email) and user.email_suspended_at is None
        out.append(Recipient(user=user, reason=reason, email=email, notify=delivery.notify))
    return out


def resolve_mentions(mentions, memberships: dict[int, Membership]) -> set[int]:
    """The members named in event.data["mentions"] (user ids, resolved from @handles when the text
    was posted: services.discussions.resolve_mentions) who are still members, and still here."""
    return {uid for uid in mentions or [] if isinstance(uid, int) and not isinstance(uid, bool)
            and uid in memberships and memberships[uid].user.deleted_at is None}
