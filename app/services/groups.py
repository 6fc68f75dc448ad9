"""Groups and membership: create, join, invite, leave, remove, roles, settings."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from ..extensions import db
from ..models import Group, Membership, User
from . import events
from .errors import Invalid, NotFound

HANDLE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# Local parts we use ourselves; a group may not take them.
RESERVED_HANDLES = {"notifications", "bounces", "reply", "r", "postmaster", "abuse", "admin", "noreply",
                    "no-reply", "mailer-daemon", "root", "hostmaster", "webmaster", "support", "help", "security"}


def group_by_handle(handle: str) -> Group:
    group = db.session.scalar(select(Group).where(Group.handle == (handle or "").strip().lower()))
    if group is None:
        raise NotFound(f"There is no group called {handle!r}.")
    return group


def validate_handle(handle: str, *, existing_id: int | None = None) -> str:
    handle = (handle or "").strip().lower()
    if not HANDLE_RE.match(handle):
        raise Invalid("Use 1–40 lower-case letters, digits or hyphens (not at the start or end).", field="handle")
    if handle in RESERVED_HANDLES or handle.startswith(("r+", "bounces")):
        raise Invalid("That handle is reserved. Please choose another.", field="handle")
    clash = db.session.scalar(select(Group.id).where(Group.handle == handle))
    if clash is not None and clash != existing_id:
        raise Invalid("That handle is taken. Please choose another.", field="handle")
    return handle


def create_group(*, actor_id: int, name: str, handle: str, privacy: str = "closed", description: str = "",
                 parent_id: int | None = None) -> Group:
    name = (name or "").strip()
    if not name:
        raise Invalid("Please give the group a name.", field="name")
    if len(name) > 100:
        raise Invalid("Group names can be at most 100 characters.", field="name")
    if privacy not in ("open", "closed", "secret"):
        raise Invalid("Choose open, closed or secret.", field="privacy")
    if len(description or "") > 10_000:
        raise Invalid("The description can be at most 10,000 characters.", field="description")
    handle = validate_handle(handle)
    group = Group(name=name, handle=handle, privacy=privacy, description=description or "",
                  parent_id=parent_id, created_by_id=actor_id)
    db.session.add(group)
    db.session.flush()
    db.session.add(Membership(group_id=group.id, user_id=actor_id, role="admin"))
    event = events.record("group_created", actor_id=actor_id, group_id=group.id)
    db.session.commit()
    events.publish(event)
    return group


def add_member(*, group_id: int, user_id: int, role: str = "member", inviter_id: int | None = None,
               commit: bool = True) -> Membership:
    """Make someone a member (idempotent); records member_joined."""
    existing = db.session.scalar(select(Membership).where(Membership.group_id == group_id, Membership.user_id == user_id))
    if existing is not None:
        return existing
    membership = Membership(group_id=group_id, user_id=user_id, role=role, inviter_id=inviter_id)
    db.session.add(membership)
    event = events.record("member_joined", actor_id=user_id, group_id=group_id)
    if commit:
        db.session.commit()
        events.publish(event)
    return membership


def member_count(group_id: int) -> int:
    return db.session.scalar(select(func.count(Membership.id)).where(Membership.group_id == group_id)) or 0
