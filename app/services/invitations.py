"""Invitations by email: send, resend, revoke, accept.

An invited address gets the invitation and nothing else until it accepts. The emailed
token proves the address, so accepting (a POST from the invitation page) may create the
account for it and sign that new account in; an account that already exists signs in its own way
first (a forwarded invitation must not open someone's account). Tokens are stored hashed, work
once, and expire INVITATION_DAYS after the last send.
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from .. import policy
from ..email import messages
from ..extensions import db
from ..models import Group, Invitation, Membership, User, utcnow
from ..text import one_line
from ..tokens import hash_token, random_token
from . import events
from .accounts import create_user, normalise_email, user_by_email
from .errors import Invalid, NotAllowed, NotFound, RateLimited
from . import audit
from .groups import add_member
from ..i18n import _, _n, number

MAX_PER_BATCH = 50
MAX_SENDS = 5
MESSAGE_MAX = 2000


def _actor_and_group(actor_id: int, group_id: int) -> tuple[User, Group]:
    user = db.session.get(User, actor_id)
    group = db.session.get(Group, group_id)
    if user is None or group is None or not policy.can_see_group(user, group):
        raise NotFound(_("There is no such group."))
    if not policy.can_invite(user, group):
        raise NotAllowed(_("Only this group's admins can invite people."))
    return user, group


def parse_addresses(raw: str) -> list[str]:
    """Addresses separated by commas, semicolons, spaces or lines; Invalid names the first bad one."""
    parts = [p.strip().strip("<>") for p in re.split(r"[\s,;]+", raw or "") if p.strip()]
    if not parts:
        raise Invalid(_("Enter at least one email address."), field="emails")
    if len(parts) > MAX_PER_BATCH:
        raise Invalid(_n("Invite at most %(num)s person at a time.", "Invite at most %(num)s people at a time.",
                         MAX_PER_BATCH), field="emails")
    emails = []
    for part in parts:
        try:
            email = normalise_email(part)
        except Invalid:
            raise Invalid(_("%(address)s is not an email address. Nobody was invited.", address=repr(part[:80])),
                          field="emails") from None
        if email not in emails:
            emails.append(email)
    return emails


def invite(*, actor_id: int, group_id: int, emails: str, message: str = "") -> dict[str, list[str]]:
    """Invite each address (skipping members and anyone already invited). All or nothing on bad input."""
    user, group = _actor_and_group(actor_id, group_id)
    addresses = parse_addresses(emails)
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise Invalid(_("Please keep the message under %(limit)s characters.", limit=number(MESSAGE_MAX)),
                      field="message")
    result = {"invited": [], "members": [], "pending": []}
    for email in addresses:
        existing_user = user_by_email(email)
        if existing_user is not None and db.session.scalar(select(Membership.id).where(
                Membership.group_id == group.id, Membership.user_id == existing_user.id)):
            result["members"].append(email)
            continue
        if db.session.scalar(select(Invitation.id).where(
                Invitation.group_id == group.id, func.lower(Invitation.email) == email,
                Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))):
            result["pending"].append(email)
            continue
        invitation = Invitation(group_id=group.id, email=email, inviter_id=user.id, message=message,
                                token_hash="pending:" + random_token(16))
        db.session.add(invitation)
        db.session.flush()
        _send(invitation, user)
        events.record("invitation_sent", actor_id=user.id, group_id=group.id, invitation_id=invitation.id)
        result["invited"].append(email)
    db.session.commit()
    return result


def _send(invitation: Invitation, inviter: User):
    """A fresh token each time (only its hash is kept), so a resend makes older links stop working."""
    token = random_token(24)
    invitation.token_hash = hash_token("invite:" + token)
    invitation.send_count = (invitation.send_count or 0) + 1
    invitation.last_sent_at = utcnow()
    return messages.invitation(
        invitation_id=invitation.id, send_count=invitation.send_count, to=invitation.email, group=invitation.group,
        inviter=inviter, message=invitation.message, link=f"{current_app.config['BASE_URL']}/invitations/{token}",
        reply_to=_reply_address(invitation))


def _reply_address(invitation: Invitation) -> str:
    """Replying to the invitation accepts it. Bound to the invitee's account, or (no account yet) to
    member 0: then the inbound side accepts only mail From the invited address."""
    from types import SimpleNamespace

    from ..email.addresses import reply_address

    holder = user_by_email(invitation.email) or SimpleNamespace(id=0, mail_token_generation=0)
    return reply_address(holder, "invitation", invitation.id)


def pending_for(group_id: int) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(
        Invitation.group_id == group_id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at)))


def _managed(actor_id: int, invitation_id: int) -> tuple[User, Invitation]:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(_("There is no such invitation."))
    user, _group = _actor_and_group(actor_id, invitation.group_id)
    if not invitation.is_pending:
        raise Invalid(_("That invitation has already been accepted or revoked."))
    return user, invitation


def resend(*, actor_id: int, invitation_id: int) -> Invitation:
    user, invitation = _managed(actor_id, invitation_id)
    if invitation.send_count >= MAX_SENDS:
        raise RateLimited(_n("That invitation has been sent %(num)s time already; we will not send it again.",
                             "That invitation has been sent %(num)s times already; we will not send it again.",
                             MAX_SENDS))
    _send(invitation, user)
    db.session.commit()
    return invitation


def revoke(*, actor_id: int, invitation_id: int) -> Invitation:
    user, invitation = _managed(actor_id, invitation_id)
    invitation.revoked_at = utcnow()
    audit.record(actor_id=user.id, group_id=invitation.group_id, action="invitation_revoked", email=invitation.email)
    db.session.commit()
    return invitation


def by_token(token: str) -> Invitation:
    """The pending invitation for an emailed token; a clear error otherwise."""
    invitation = None
    if token and len(token) <= 100:
        invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token("invite:" + token)))
    if invitation is None:
        raise NotFound(_("This invitation link is not valid. It may have been replaced by a newer email."))
    return check_pending(invitation)


def expires_at(invitation: Invitation):
    """When the invitation stops working: INVITATION_DAYS after it was last sent."""
    sent = invitation.last_sent_at or invitation.created_at
    return sent + timedelta(days=current_app.config["INVITATION_DAYS"])


def check_pending(invitation: Invitation) -> Invitation:
    """The invitation, if it can still be accepted; Invalid saying why not."""
    if invitation.revoked_at is not None:
        raise Invalid(_("This invitation was withdrawn by the group."))
    if invitation.accepted_at is not None:
        raise Invalid(_("This invitation has already been accepted. Sign in to see the group."))
    if expires_at(invitation) <= utcnow():
        raise Invalid(_("This invitation has expired. Ask the group for a new one."))
    if invitation.group.archived_at is not None:
        raise Invalid(_("This group is no longer active."))
    return invitation


def accept(*, token: str, user_id: int | None = None, name: str = "") -> tuple[User, Group]:
    """Accept for the signed-in member, or (signed out) for the invited address, creating its account."""
    return accept_invitation(invitation=by_token(token), user_id=user_id, name=name)


def accept_invitation(*, invitation: Invitation, user_id: int | None = None, name: str = "") -> tuple[User, Group]:
    """Accept a pending invitation whose address the caller has proved (an emailed token, or a reply
    from the invited address). Never signs anyone in: the web view does that after a token."""
    check_pending(invitation)
    if user_id is not None:
        user = db.session.get(User, user_id)
    else:
        user = user_by_email(invitation.email)
        if user is None:
            name = one_line(name)
            if not name:
                raise Invalid(_("Please tell the group your name."), field="name")
            if len(name) > 100:
                raise Invalid(_("Names can be at most %(limit)s characters.", limit=100), field="name")
            user = create_user(email=invitation.email, name=name, verified=True)
        elif user.email_verified_at is None:
            user.email_verified_at = utcnow()
    invitation.accepted_at, invitation.accepted_by_id = utcnow(), user.id
    invitation.token_hash = "used:" + random_token(16)  # single use
    # add_member commits this whole transaction (member_joined goes out after it).
    add_member(group_id=invitation.group_id, user_id=user.id, role=invitation.role or "member",
               inviter_id=invitation.inviter_id)
    db.session.commit()
    policy.forget_memberships()
    return user, invitation.group


def invitee_has_account(token: str) -> bool:
    """Does the address a (valid) invitation token was sent to already have an account?"""
    try:
        invitation = by_token(token)
    except (NotFound, Invalid):
        return False
    return user_by_email(invitation.email) is not None
