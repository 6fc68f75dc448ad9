"""Groups and membership: create, join, invite, leave, remove, roles, settings."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from .. import i18n, policy
from ..i18n import _, _l
from ..extensions import db
from ..text import one_line
from ..models import PRIVACIES, Group, Membership, User
from . import audit, events
from .errors import Invalid, NotAllowed, NotFound, all_or_nothing

HANDLE_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# Local parts we use ourselves; a group may not take them.
RESERVED_HANDLES = {"notifications", "bounces", "reply", "r", "postmaster", "abuse", "admin", "noreply",
                    "no-reply", "mailer-daemon", "root", "hostmaster", "webmaster", "support", "help", "security"}


def group_by_handle(handle: str) -> Group:
    group = db.session.scalar(select(Group).where(Group.handle == (handle or "").strip().lower()))
    if group is None:
        raise NotFound(_("There is no group called %(handle)s.", handle=repr(handle)))
    return group


def validate_handle(handle: str, *, existing_id: int | None = None) -> str:
    handle = (handle or "").strip().lower()
    if not HANDLE_RE.match(handle):
        raise Invalid(_("Use 1–40 lower-case letters, digits or hyphens (not at the start or end)."), field="handle")
    if handle in RESERVED_HANDLES or handle.startswith(("r+", "bounces")):
        raise Invalid(_("That handle is reserved. Please choose another."), field="handle")
    clash = db.session.scalar(select(Group.id).where(Group.handle == handle))
    if clash is not None and clash != existing_id:
        raise Invalid(_("That handle is taken. Please choose another."), field="handle")
    return handle


def _clean_group_fields(name: str, privacy: str, description: str) -> tuple[str, str, str]:
    name = one_line(name)
    if not name:
        raise Invalid(_("Please give the group a name."), field="name")
    if len(name) > 100:
        raise Invalid(_("Group names can be at most 100 characters."), field="name")
    if privacy not in PRIVACIES:
        raise Invalid(_("Choose open, closed or secret."), field="privacy")
    description = (description or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if len(description) > 10_000:
        raise Invalid(_("The description can be at most 10,000 characters."), field="description")
    return name, privacy, description


GROUP_CREATION_REFUSED = _l("On this site only its administrators create new groups. Ask one of them, or ask a "
                            "group's admins to add a subgroup.")


def create_group(*, actor_id: int, name: str, handle: str, privacy: str = "closed", description: str = "",
                 parent_id: int | None = None) -> Group:
    if parent_id is None and not policy.can_create_group(db.session.get(User, actor_id)):
        raise NotAllowed(str(GROUP_CREATION_REFUSED))
    name, privacy, description = _clean_group_fields(name, privacy, description)
    handle = validate_handle(handle)
    if parent_id is not None:
        parent = db.session.get(Group, parent_id)
        actor = db.session.get(User, actor_id)
        if parent is None or not policy.can_see_group(actor, parent):
            raise NotFound(_("There is no such parent group."))
        if parent.parent_id is not None:
            raise Invalid(_("Subgroups cannot have subgroups of their own (one level only)."), field="parent")
        if not policy.can_create_subgroup(actor, parent):
            raise NotAllowed(_("Only the parent group's admins can add subgroups."))
        if parent.privacy == "secret" and privacy != "secret":
            # An open subgroup of a secret group would reveal that the parent exists.
            raise Invalid(_("A subgroup of a secret group must be secret too."), field="privacy")
    group = Group(name=name, handle=handle, privacy=privacy, description=description or "",
                  parent_id=parent_id, created_by_id=actor_id)
    db.session.add(group)
    db.session.flush()
    db.session.add(Membership(group_id=group.id, user_id=actor_id, role="admin"))
    events.record("group_created", actor_id=actor_id, group_id=group.id)
    db.session.commit()
    return group


def add_member(*, group_id: int, user_id: int, role: str = "member", inviter_id: int | None = None,
               commit: bool = True) -> Membership:
    """Make someone a member (idempotent); records member_joined."""
    existing = db.session.scalar(select(Membership).where(Membership.group_id == group_id, Membership.user_id == user_id))
    if existing is not None:
        return existing
    membership = Membership(group_id=group_id, user_id=user_id, role=role, inviter_id=inviter_id)
    db.session.add(membership)
    events.record("member_joined", actor_id=user_id, group_id=group_id)
    if commit:
        db.session.commit()
    return membership


def member_count(group_id: int) -> int:
    return db.session.scalar(select(func.count(Membership.id)).where(Membership.group_id == group_id)) or 0


# Settings an admin may change; each is a Group boolean column shown on the settings page.
PERMISSION_FLAGS = {
    "members_can_start_threads": _l("Members may start threads"),
    "members_can_create_polls": _l("Members may start polls and proposals"),
    "members_can_invite": _l("Members may invite people"),
    "members_can_edit_own_comments": _l("Members may edit their own comments"),
    "members_can_delete_own_comments": _l("Members may delete their own comments"),
    "admins_can_edit_others_comments": _l("Admins may edit other people's comments"),
    "admins_can_delete_others_comments": _l("Admins may delete other people's comments"),
    "listed_in_directory": _l("List this group in the directory of open groups (when it is open)"),
}


def directory(user, limit: int = 500) -> list[tuple[Group, int, bool]]:
    """The open groups anyone may find and join: (group, member count, is `user` a member), by name.
    Three queries however many groups there are."""
    found = list(db.session.scalars(select(Group).where(policy.in_directory()).order_by(func.lower(Group.name))
                                    .limit(limit)))
    if not found:
        return []
    ids = [g.id for g in found]
    counts = dict(db.session.execute(select(Membership.group_id, func.count()).where(Membership.group_id.in_(ids))
                                     .group_by(Membership.group_id)).all())
    mine = set()
    if getattr(user, "is_authenticated", False):
        mine = set(db.session.scalars(select(Membership.group_id).where(Membership.user_id == user.id,
                                                                        Membership.group_id.in_(ids))))
    return [(group, counts.get(group.id, 0), group.id in mine) for group in found]


def visible_group(user, handle: str) -> Group:
    """The group, if this person may know it exists (else NotFound, the same as 'no such group')."""
    group = db.session.scalar(select(Group).where(Group.handle == (handle or "").strip().lower()))
    if group is None or not policy.can_see_group(user, group):
        raise NotFound(_("There is no such group."))
    return group


@all_or_nothing
def update_settings(*, actor_id: int, group_id: int, name: str, privacy: str, description: str,
                    flags: dict[str, bool], locale: str | None = None) -> Group:
    """`locale`: the language of members who never chose one ("" = none; None = leave as it is)."""
    actor = db.session.get(User, actor_id)
    group = db.session.get(Group, group_id)
    if group is None or not policy.can_see_group(actor, group):
        raise NotFound(_("There is no such group."))
    if not policy.can_change_settings(actor, group):
        raise NotAllowed(_("Only this group's admins can change its settings."))
    name, privacy, description = _clean_group_fields(name, privacy, description)
    if group.parent is not None and group.parent.privacy == "secret" and privacy != "secret":
        raise Invalid(_("A subgroup of a secret group must be secret too."), field="privacy")
    if privacy == "secret":
        open_subgroups = [sub.name for sub in group.subgroups if sub.privacy != "secret"]
        if open_subgroups:
            raise Invalid(_("Make its subgroups secret first: %(names)s.", names=", ".join(open_subgroups)), field="privacy")
    changed = {}
    if locale is not None and locale and locale not in i18n.LOCALES:
        raise Invalid(_("Pick a language from the list."), field="locale")
    fields = [("name", name), ("privacy", privacy), ("description", description)]
    if locale is not None:
        fields.append(("locale", locale or None))
    for field, value in fields:
        if getattr(group, field) != value:
            changed[field] = value
            setattr(group, field, value)
    for flag in PERMISSION_FLAGS:
        value = bool(flags.get(flag))
        if getattr(group, flag) != value:
            changed[flag] = value
            setattr(group, flag, value)
    if "locale" in changed:
        i18n.forget_group_defaults()
    if changed:
        audit.record(actor.id, group.id, "settings_changed", **changed)
    db.session.commit()
    return group
