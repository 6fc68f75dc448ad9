"""Guests: people from outside a group brought into one thing of it by email.

One concept serves both places Quorum has guests: a poll's named voter from outside the group
(services/polls/creation) and a guest of one thread (here). Both get an account for their address
(`guest_account`: unverified until they sign in, so they can be told and can reply by mail), and
both see only what they were invited to; the policy module decides (`policy.is_thread_guest`,
`policy.can_view_poll`). A thread's guests can be included as voters of its polls; removing a
guest takes that away too, at once.
"""
from __future__ import annotations

from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, delete, select

from .. import policy
from ..email import messages
from ..email.addresses import reply_address
from ..extensions import db
from ..models import Discussion, Membership, Poll, PollVoter, ReadState, ThreadGuest, User, utcnow
from . import audit
from .accounts import acting_member, create_user, user_by_email
from .errors import Invalid, NotAllowed, NotFound, all_or_nothing
from ..i18n import _, number

MESSAGE_MAX = 2000


def guest_account(email: str) -> User:
    """The person behind an address: their account, or a new unverified one (it can be told and can
    reply by mail; signing in with a link sent to the address verifies it)."""
    return user_by_email(email) or create_user(email=email, verified=False)


def _thread_for(actor: User, discussion_id: int) -> Discussion:
    discussion = db.session.get(Discussion, discussion_id)
    if discussion is None or not policy.can_view_discussion(actor, discussion):
        raise NotFound(_("There is no such thread."))
    if not policy.can_invite_guests(actor, discussion):
        raise NotAllowed(_("Only the thread's author and the group's admins can invite guests to it."))
    return discussion


@lru_cache(maxsize=1)
def _guests_statement():
    # Built once (every thread page asks): a statement object keeps its cache key.
    from sqlalchemy.orm import joinedload

    return (select(ThreadGuest).options(joinedload(ThreadGuest.user))
            .where(ThreadGuest.discussion_id == bindparam("discussion_id"), ThreadGuest.removed_at.is_(None))
            .order_by(ThreadGuest.id))


def guests_of(discussion_id: int) -> list[ThreadGuest]:
    """The thread's current guests, in the order they were invited."""
    return list(db.session.scalars(_guests_statement(), {"discussion_id": discussion_id}))


@all_or_nothing
def invite_guests(*, actor_id: int, discussion_id: int, emails: str, message: str = "") -> dict[str, list[str]]:
    """Invite each address into this one thread; members of the group (who can read it already) and
    current guests are skipped. Each new guest is mailed the thread with a sign-in link; replying to
    that mail posts in the thread."""
    from .invitations import parse_addresses

    actor = acting_member(actor_id)
    discussion = _thread_for(actor, discussion_id)
    addresses = parse_addresses(emails)
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise Invalid(_("Please keep the message under %(limit)s characters.", limit=number(MESSAGE_MAX)),
                      field="message")
    result: dict[str, list[str]] = {"invited": [], "members": [], "already": []}
    for email in addresses:
        person = guest_account(email)
        if db.session.scalar(select(Membership.id).where(
                Membership.group_id == discussion.group_id, Membership.user_id == person.id)):
            result["members"].append(email)
            continue
        row = db.session.scalar(select(ThreadGuest).where(
            ThreadGuest.discussion_id == discussion.id, ThreadGuest.user_id == person.id))
        if row is not None and row.removed_at is None:
            result["already"].append(email)
            continue
        if row is None:
            row = ThreadGuest(discussion_id=discussion.id, user_id=person.id, email=email, invited_by_id=actor.id)
            db.session.add(row)
        else:  # invited again after being removed
            row.removed_at, row.removed_by_id, row.invited_by_id, row.created_at = None, None, actor.id, utcnow()
        db.session.flush()
        _follow(person.id, discussion.id)
        _mail(row, person, actor, discussion, message)
        audit.record(actor.id, discussion.group_id, "guest_invited", discussion_id=discussion.id, email=email)
        result["invited"].append(email)
    db.session.commit()
    policy.forget_memberships()
    return result


def _follow(user_id: int, discussion_id: int) -> None:
    """A guest follows the thread they were invited to (every comment by mail, until they mute it)."""
    state = db.session.scalar(select(ReadState).where(ReadState.user_id == user_id,
                                                      ReadState.discussion_id == discussion_id))
    if state is None:
        db.session.add(ReadState(user_id=user_id, discussion_id=discussion_id, read_comments_count=0,
                                 participating=True))
    else:
        state.participating = True


def _mail(row: ThreadGuest, person: User, actor: User, discussion: Discussion, message: str) -> None:
    base = current_app.config["BASE_URL"]
    messages.thread_guest_invitation(
        guest_id=row.id, invited_at=row.created_at, to=person.email, user=person, inviter=actor,
        discussion=discussion, group=discussion.group, message=message,
        thread_url=f"{base}/d/{discussion.id}", sign_in_url=f"{base}/login?next=/d/{discussion.id}",
        reply_to=reply_address(person, "discussion", discussion.id))


@all_or_nothing
def remove_guest(*, actor_id: int, discussion_id: int, user_id: int) -> None:
    """From now on the guest can do nothing in the thread: not read it, not reply (by mail or web), not
    vote in its polls as its guest (their votes cast so far stay counted)."""
    actor = acting_member(actor_id)
    discussion = db.session.get(Discussion, discussion_id)
    if discussion is None or not policy.can_view_discussion(actor, discussion):
        raise NotFound(_("There is no such thread."))
    if not policy.can_remove_guest(actor, discussion):
        raise NotAllowed(_("Only the thread's author and the group's admins can remove its guests."))
    row = db.session.scalar(select(ThreadGuest).where(
        ThreadGuest.discussion_id == discussion.id, ThreadGuest.user_id == user_id, ThreadGuest.removed_at.is_(None)))
    if row is None:
        raise NotFound(_("That person is not a guest of this thread."))
    row.removed_at, row.removed_by_id = utcnow(), actor.id
    member = db.session.scalar(select(Membership.id).where(
        Membership.group_id == discussion.group_id, Membership.user_id == user_id))
    if member is None:  # their place among the thread's polls' voters goes with them
        polls = select(Poll.id).where(Poll.discussion_id == discussion.id)
        db.session.execute(delete(PollVoter).where(PollVoter.user_id == user_id, PollVoter.poll_id.in_(polls))
                           .execution_options(synchronize_session=False))
    audit.record(actor.id, discussion.group_id, "guest_removed", discussion_id=discussion.id, email=row.email)
    db.session.commit()
    policy.forget_memberships()


def guest_voter_rows(discussion: Discussion) -> list[tuple[str, User]]:
    """(address, person) of the thread's guests, for a poll in it that includes them as voters."""
    return [(row.email, row.user) for row in guests_of(discussion.id) if row.user.deleted_at is None]
