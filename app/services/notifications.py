"""Who hears of what, and the member's own controls: volume rules, the bell, one-click footer actions.

Volume, per group (Membership.volume) and per thread (ReadState.volume overrides it):
  all       every message by email (the default, like a mailing list)
  digest    nothing immediate; the digest job reads events later (the bell still shows it)
  mentions  only mentions, replies to you, and polls you are asked to vote in
  mute      nothing
Taking part in a thread (ReadState.participating) subscribes you to it: that thread is "all"
unless you set its volume yourself, or muted the whole group (unsubscribing means no mail).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from .. import policy
from ..extensions import db
from ..models import Discussion, Group, Membership, Notification, ReadState, User, utcnow
from . import subscriptions
from ..i18n import _
from .errors import Invalid, NotFound

# Why a member hears of an event; also Notification.reason.
@dataclass(frozen=True)
class Delivery:
    """The decision for one member: `email` now, and/or an in-app notification."""

    email: bool
    notify: bool


def decide(*, group_volume: str, thread_volume: str | None, participating: bool, direct: bool) -> Delivery:
    """Apply the volume rules above; `direct` means mentioned, replied to, or asked to vote."""
    if group_volume == "mute":
        return Delivery(email=False, notify=direct)
    if thread_volume == "mute":
        return Delivery(email=direct, notify=direct)
    effective = thread_volume or ("all" if participating else group_volume)
    if effective == "all":
        return Delivery(email=True, notify=True)
    if effective == "mentions":
        return Delivery(email=direct, notify=direct)
    return Delivery(email=False, notify=True)  # digest: the digest carries it


# --- the bell -----------------------------------------------------------------------

def unread_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ) or 0


def recent(user_id: int, limit: int = 50) -> list[dict]:
    """The member's latest notifications about what they may still see, each with the thread and the
    poll it is about (`notification`, `thread`, `poll`; None where it is about none), named by their
    titles as they are now: one removed from a group (or whose thread moved to a group they cannot
    read) no longer sees its titles here."""
    from sqlalchemy.orm import joinedload

    from ..models import Event, Poll, PollVoter

    rows = list(db.session.scalars(
        select(Notification).where(Notification.user_id == user_id)
        .options(joinedload(Notification.event).joinedload(Event.actor))
        .order_by(Notification.id.desc()).limit(limit)
    ))
    user = db.session.get(User, user_id)
    readable = set(policy.visible_group_ids(user))
    guest_in = set(policy.guest_discussion_ids(user))  # threads they are a guest of
    events = [n.event for n in rows]
    thread_ids = {e.discussion_id for e in events if e.discussion_id}
    threads = {d.id: d for d in db.session.scalars(select(Discussion).where(
        Discussion.id.in_(thread_ids), Discussion.deleted_at.is_(None)))} if thread_ids else {}
    poll_ids = {e.poll_id for e in events if e.poll_id}
    named = set(db.session.scalars(select(PollVoter.poll_id).where(
        PollVoter.poll_id.in_(poll_ids), PollVoter.user_id == user_id))) if poll_ids else set()
    polls = {p.id: p for p in db.session.scalars(select(Poll).where(Poll.id.in_(poll_ids)))} if poll_ids else {}

    def still_visible(event) -> bool:
        thread = threads.get(event.discussion_id)
        if event.discussion_id and (thread is None or (thread.group_id not in readable and thread.id not in guest_in)):
            return False
        if event.poll_id:
            poll = polls.get(event.poll_id)
            return poll is not None and not policy.poll_is_gone(poll) and (
                policy.poll_group(poll).id in readable or poll.id in named or poll.discussion_id in guest_in)
        return event.group_id is None or event.group_id in readable or event.discussion_id in guest_in

    return [{"notification": n, "thread": threads.get(n.event.discussion_id), "poll": polls.get(n.event.poll_id)}
            for n in rows if still_visible(n.event)]


def mark_all_read(*, user_id: int) -> int:
    result = db.session.execute(
        update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None)).values(read_at=utcnow())
    )
    db.session.commit()
    return result.rowcount or 0


# --- one-click footer actions ------------------------------------------------------

@dataclass(frozen=True)
class MailAction:
    """What a footer link would do, described for its one-button page."""

    action: str
    user: User
    group: Group | None
    discussion: Discussion | None
    done: bool  # already in effect: the link has been used (or the member did it another way)
    # digest_off: the groups the member gets by digest, which then send no email (see apply_action).
    digest_groups: tuple[Group, ...] = ()

    @property
    def target_name(self) -> str:
        if self.discussion is not None:
            return self.discussion.title
        return self.group.name if self.group is not None else _("every group")


def describe_action(action: str, payload: dict) -> MailAction:
    """Load what a verified footer token points at; NotFound if it is gone."""
    user = db.session.get(User, payload["user_id"])
    group = discussion = None
    if action == "mute_thread":
        discussion = db.session.get(Discussion, payload.get("discussion_id", 0))
        if discussion is None or discussion.deleted_at is not None:
            raise NotFound(_("That thread no longer exists."))
        group = discussion.group
        state = _read_state(user.id, discussion.id)
        done = state is not None and state.volume == "mute"
    elif action in ("digest_group", "unsubscribe_group"):
        group = db.session.get(Group, payload.get("group_id", 0))
        membership = _membership(user.id, group.id) if group is not None else None
        if membership is None:
            raise NotFound(_("You are no longer a member of that group, so it sends you nothing."))
        done = membership.volume == ("digest" if action == "digest_group" else "mute")
    elif action == "unsubscribe_all":
        loud = db.session.scalar(select(func.count(Membership.id)).where(
            Membership.user_id == user.id, Membership.volume != "mute"))
        done = not loud
    elif action == "digest_off":
        groups = tuple(_digest_groups(user.id))
        return MailAction(action, user, None, None, user.digest_frequency == "off" and not groups, groups)
    else:
        raise Invalid(_("That link is not one we know."))
    return MailAction(action, user, group, discussion, done)


def _digest_groups(user_id: int) -> list[Group]:
    return list(db.session.scalars(
        select(Group).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user_id, Membership.volume == "digest").order_by(func.lower(Group.name))
    ))


def apply_action(action: str, payload: dict) -> MailAction:
    """Do what a footer link says (idempotent). Returns the action as it now stands."""
    described = describe_action(action, payload)
    user = described.user
    if action == "mute_thread":
        subscriptions.mute_thread(user, described.discussion.id)
    elif action == "digest_group":
        subscriptions.set_group_volume(user, described.group.id, "digest")
    elif action == "unsubscribe_group":
        subscriptions.set_group_volume(user, described.group.id, "mute")
    elif action == "unsubscribe_all":
        subscriptions.mute_everything(user)
    elif action == "digest_off":
        subscriptions.stop_digests(user)
    return MailAction(action, user, described.group, described.discussion, True, described.digest_groups)


def _membership(user_id: int, group_id: int) -> Membership | None:
    return db.session.scalar(select(Membership).where(Membership.user_id == user_id, Membership.group_id == group_id))


def _read_state(user_id: int, discussion_id: int) -> ReadState | None:
    return db.session.scalar(
        select(ReadState).where(ReadState.user_id == user_id, ReadState.discussion_id == discussion_id))
