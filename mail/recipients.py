"""Which of our addresses a message is for: the check the SMTP server makes at RCPT, and the
pipeline again before acting. A refusal is a BadAddress whose text the sender's server shows."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from app.email.addresses import BadAddress, ReplyTarget, parse_reply_local, user_id_from_bounce_token
from app.email.headers import notifications_address
from app.extensions import db
from app.models import Group, Invitation, Membership, User
from app.services import invitations
from app.services.errors import DomainError

GROUP_HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
POSTMASTER_LOCALS = {"postmaster", "abuse"}


@dataclass(frozen=True)
class Recipient:
    kind: str  # reply | bounce | group | postmaster | notifications
    address: str
    target: ReplyTarget | None = None
    user_id: int | None = None
    group_id: int | None = None
    invited_email: str | None = None  # an invitation to an address with no account: From must be this


def resolve_recipient(address: str, *, envelope_from: str | None = None) -> Recipient:
    """Check one of our addresses; raise BadAddress with the reason a sender should read.

    A secret group's address answers as an unknown one unless the envelope sender is one of its
    members, so probing handles at RCPT time tells a stranger nothing.
    """
    address = (address or "").strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    our_domain = current_app.config["MAIL_DOMAIN"].lower()
    if not at or not local:
        raise BadAddress("this is not an email address we serve")
    if domain.lower() != our_domain:
        raise BadAddress(f"we do not accept mail for {domain.lower()} (this server only serves {our_domain})")
    local = local.lower()
    if local.startswith("r+"):
        target = parse_reply_local(local)
        if target.kind == "invitation":
            invited = pending_invitation_email(target.target_id)  # BadAddress once accepted or withdrawn
            if target.user_id == 0:
                return Recipient("reply", address, target=target, invited_email=invited)
        user = db.session.get(User, target.user_id)
        if user is None or user.deleted_at is not None:
            raise BadAddress("this reply address belongs to an account that no longer exists")
        if (user.mail_token_generation or 0) != target.generation:
            raise BadAddress("this reply address has been revoked; reply to a newer email or use the web page")
        return Recipient("reply", address, target=target, user_id=user.id)
    if local == "bounces":
        return Recipient("bounce", address)
    if local.startswith("bounces+"):
        user_id = user_id_from_bounce_token(local[len("bounces+"):])
        if user_id is None:
            raise BadAddress("this bounce address is not one we issued")
        return Recipient("bounce", address, user_id=user_id)
    if local in POSTMASTER_LOCALS:
        return Recipient("postmaster", address)
    if f"{local}@{our_domain}" == notifications_address().lower():  # the From of all our mail: replies land here
        return Recipient("notifications", address)
    if GROUP_HANDLE.match(local):
        group = db.session.execute(select(Group.id, Group.privacy, Group.archived_at).where(
            Group.handle == local)).first()
        # An archived group's address is known only to its members: the pipeline explains the refusal.
        hidden = group is not None and (group.privacy == "secret" or group.archived_at is not None)
        if group is not None and (not hidden or _member_sender(group.id, envelope_from)):
            return Recipient("group", address, group_id=group.id)
        raise BadAddress(f"there is no group called {local} here")
    raise BadAddress("there is no such address here")


def pending_invitation_email(invitation_id: int) -> str:
    """The invited address (lower-case) if the invitation can still be accepted; BadAddress otherwise."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise BadAddress("this invitation no longer exists")
    try:
        invitations.check_pending(invitation)
    except DomainError as error:
        raise BadAddress(error.message.rstrip(".").lower()) from None
    return invitation.email.lower()


def _member_sender(group_id: int, envelope_from: str | None) -> bool:
    from app.services.accounts import user_by_email

    user = user_by_email(envelope_from) if envelope_from and "@" in envelope_from else None
    return user is not None and db.session.scalar(select(Membership.id).where(
        Membership.group_id == group_id, Membership.user_id == user.id)) is not None


def first_of_ours(recipients: list[str], *, envelope_from: str | None = None) -> tuple[Recipient | None, str | None]:
    """The first address we serve among `recipients`, or None and the first refusal."""
    refusal = None
    for address in recipients:
        try:
            return resolve_recipient(address, envelope_from=envelope_from), None
        except BadAddress as error:
            refusal = refusal or f"{address}: {error}"
    return None, refusal
