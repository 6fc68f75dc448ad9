"""Belonging to a group: join (open groups, join links), ask to join, approve, leave, remove, roles."""
from __future__ import annotations

from sqlalchemy import func, select

from .. import policy
from ..email import messages
from ..extensions import db
from ..models import ROLES, Group, JoinRequest, Membership, User, utcnow
from ..tokens import random_token
from . import events
from .accounts import acting_member
from .errors import Invalid, NotAllowed, NotFound
from . import audit
from .groups import add_member
from ..i18n import _, number

MESSAGE_MAX = 2000


def _group(user: User, group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or not policy.can_see_group(user, group):
        raise NotFound(_("There is no such group."))
    return group


def _membership(group_id: int, user_id: int) -> Membership | None:
    return db.session.scalar(select(Membership).where(Membership.group_id == group_id, Membership.user_id == user_id))


def _admin_count(group_id: int) -> int:
    return db.session.scalar(
        select(func.count(Membership.id)).where(Membership.group_id == group_id, Membership.role == "admin")) or 0


def join_open_group(*, actor_id: int, group_id: int) -> Membership:
    """One click: anyone signed in may join an open group."""
    user = acting_member(actor_id)
    group = _group(user, group_id)
    if policy.is_member(user, group):
        return policy.membership(user, group)
    if not policy.can_join_directly(user, group):
        raise NotAllowed(_("This group is not open to everyone: ask to join instead."))
    membership = add_member(group_id=group.id, user_id=user.id)
    policy.forget_memberships()
    return membership


def group_by_join_token(token: str) -> Group:
    """The group a shareable join link leads to (links stop working when an admin resets them)."""
    group = None
    if token and len(token) <= 64:
        group = db.session.scalar(select(Group).where(Group.join_token == token, Group.archived_at.is_(None)))
    if group is None:
        raise NotFound(_("This join link does not work any more. Ask the group for a new one."))
    return group


def join_by_link(*, actor_id: int, token: str) -> Group:
    user = acting_member(actor_id)
    group = group_by_join_token(token)
    if _membership(group.id, user.id) is None:
        add_member(group_id=group.id, user_id=user.id)
        policy.forget_memberships()
    return group


def reset_join_link(*, actor_id: int, group_id: int, enabled: bool = True) -> str | None:
    """A new shareable link (the old one stops working), or none at all."""
    user = acting_member(actor_id)
    group = _group(user, group_id)
    if not policy.can_manage_members(user, group):
        raise NotAllowed(_("Only this group's admins can manage its join link."))
    group.join_token = random_token(24) if enabled else None
    audit.record(actor_id=user.id, group_id=group.id, action="join_link_reset" if enabled else "join_link_disabled")
    db.session.commit()
    return group.join_token


def pending_request_id(user, group: Group) -> int | None:
    """The member's own unanswered request to join, if any."""
    return db.session.scalar(select(JoinRequest.id).where(
        JoinRequest.group_id == group.id, JoinRequest.user_id == user.id, JoinRequest.decided_at.is_(None)))


def request_to_join(*, actor_id: int, group_id: int, message: str = "") -> JoinRequest:
    user = acting_member(actor_id)
    group = _group(user, group_id)
    if policy.is_member(user, group):
        raise Invalid(_("You are already a member of this group."))
    if not policy.can_request_to_join(user, group):
        raise NotAllowed(_("This group does not take requests to join."))
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise Invalid(_("Please keep the message under %(limit)s characters.", limit=number(MESSAGE_MAX)),
                      field="message")
    pending = db.session.scalar(select(JoinRequest).where(
        JoinRequest.group_id == group.id, JoinRequest.user_id == user.id, JoinRequest.decided_at.is_(None)))
    if pending is not None:
        raise Invalid(_("You have already asked to join; the group's admins will answer soon."))
    request = JoinRequest(group_id=group.id, user_id=user.id, message=message)
    db.session.add(request)
    db.session.flush()
    events.record("join_requested", actor_id=user.id, group_id=group.id, join_request_id=request.id)
    admins = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.group_id == group.id, Membership.role == "admin", User.deleted_at.is_(None)))
    for admin in admins:
        if admin.email:
            messages.join_request(request_id=request.id, admin=admin, group=group, requester=user, message=message)
    db.session.commit()
    return request


def pending_requests(group_id: int) -> list[JoinRequest]:
    return list(db.session.scalars(select(JoinRequest).where(
        JoinRequest.group_id == group_id, JoinRequest.decided_at.is_(None)).order_by(JoinRequest.created_at)))


def decide_request(*, actor_id: int, request_id: int, approve: bool) -> JoinRequest:
    """Approve (the requester becomes a member and hears so) or ignore (they hear nothing)."""
    user = acting_member(actor_id)
    request = db.session.get(JoinRequest, request_id)
    if request is None:
        raise NotFound(_("There is no such request."))
    group = _group(user, request.group_id)
    if not policy.can_manage_members(user, group):
        raise NotAllowed(_("Only this group's admins can answer requests to join."))
    if request.decided_at is not None:
        raise Invalid(_("That request has already been answered."))
    request.decided_at, request.decided_by_id = utcnow(), user.id
    request.decision = "approved" if approve else "ignored"
    if approve:
        events.record("join_approved", actor_id=user.id, group_id=group.id, user_id=request.user_id)
        requester = request.user
        if requester.email and requester.deleted_at is None:
            messages.join_approved(request_id=request.id, member=requester, group=group)
    audit.record(actor_id=user.id, group_id=group.id, action="join_" + request.decision, user_id=request.user_id)
    if approve:  # add_member commits this whole transaction (member_joined goes out after it)
        add_member(group_id=group.id, user_id=request.user_id, inviter_id=user.id)
    db.session.commit()
    return request


def leave_group(*, actor_id: int, group_id: int) -> None:
    user = acting_member(actor_id)
    group = _group(user, group_id)
    membership = _membership(group.id, user.id)
    if membership is None:
        raise Invalid(_("You are not a member of this group."))
    if membership.role == "admin" and _admin_count(group.id) == 1 and _member_count(group.id) > 1:
        raise Invalid(_("You are the only admin. Make someone else an admin before you leave."))
    db.session.delete(membership)
    events.record("member_left", actor_id=user.id, group_id=group.id)
    db.session.commit()
    policy.forget_memberships()


def _member_count(group_id: int) -> int:
    return db.session.scalar(select(func.count(Membership.id)).where(Membership.group_id == group_id)) or 0


def remove_member(*, actor_id: int, group_id: int, user_id: int) -> None:
    user = acting_member(actor_id)
    group = _group(user, group_id)
    if not policy.can_manage_members(user, group):
        raise NotAllowed(_("Only this group's admins can remove members."))
    if user_id == user.id:
        raise Invalid(_("To remove yourself, leave the group instead."))
    membership = _membership(group.id, user_id)
    if membership is None:
        raise NotFound(_("That person is not a member of this group."))
    db.session.delete(membership)
    events.record("member_removed", actor_id=user.id, group_id=group.id, user_id=user_id)
    audit.record(actor_id=user.id, group_id=group.id, action="member_removed", user_id=user_id)
    db.session.commit()
    policy.forget_memberships()


def change_role(*, actor_id: int, group_id: int, user_id: int, role: str) -> Membership:
    user = acting_member(actor_id)
    group = _group(user, group_id)
    if not policy.can_manage_members(user, group):
        raise NotAllowed(_("Only this group's admins can change roles."))
    if role not in ROLES:
        raise Invalid(_("Choose admin or member."), field="role")
    membership = _membership(group.id, user_id)
    if membership is None:
        raise NotFound(_("That person is not a member of this group."))
    if membership.role == role:
        return membership
    if role == "member" and _admin_count(group.id) == 1:
        raise Invalid(_("A group needs at least one admin. Make someone else an admin first."))
    membership.role = role
    events.record("role_changed", actor_id=user.id, group_id=group.id, user_id=user_id, role=role)
    audit.record(actor_id=user.id, group_id=group.id, action="role_changed", user_id=user_id, role=role)
    db.session.commit()
    policy.forget_memberships()
    return membership


def members_of(group_id: int) -> list[Membership]:
    from sqlalchemy.orm import joinedload

    rows = db.session.scalars(select(Membership).options(joinedload(Membership.user))
                              .where(Membership.group_id == group_id))
    return sorted(rows, key=lambda m: (m.role != "admin", m.user.display_name.lower()))


def suspended_members(group_id: int) -> list[User]:
    """Members of a group whose address we no longer send to (bounces), for the group's admins.

    `User.email_suspended_reason` says why (mail/bounces.py sets it); the member sees a banner."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group_id, User.email_suspended_at.is_not(None), User.deleted_at.is_(None))
        .order_by(User.name, User.id)
    ))


TITLE_MAX = 60


def set_title(*, actor_id: int, group_id: int, user_id: int, title: str) -> Membership:
    """A member's title in the group ("Treasurer"), shown beside their name; empty removes it."""
    from ..text import one_line

    user = acting_member(actor_id)
    group = _group(user, group_id)
    if not policy.can_set_titles(user, group):
        raise NotAllowed(_("Only this group's admins can give members titles."))
    membership = _membership(group.id, user_id)
    if membership is None:
        raise NotFound(_("That person is not a member of this group."))
    title = one_line(title or "")
    if len(title) > TITLE_MAX:
        raise Invalid(_("A title can be at most %(limit)s characters.", limit=TITLE_MAX), field="title")
    if (membership.title or "") == title:
        return membership
    membership.title = title or None
    audit.record(actor_id=user.id, group_id=group.id, action="title_changed", user_id=user_id, title=title)
    db.session.commit()
    return membership
