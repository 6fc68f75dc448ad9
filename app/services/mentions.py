"""Who a name reaches in a thread: @mentions, "Notify:" lists and the suggestion list, one rule for all.

A name is a person's handle (`@ada`: the part of their address before the @, lower-cased), a
person's address (`ada@example.org`, in a Notify list), or a group's handle: the thread's own group
(`@garden`: everyone in it), one of its subgroups, or its parent group. Whatever the name, it reaches
only people who may read the thread (members of its group, its guests; policy.discussion_viewers
decides), so naming someone or a group can never show the thread to anyone else. A named address
of someone who may not read it is left out and reported back to the author (see `Told.left_out`);
bringing an outsider in is a separate, deliberate act (a guest invitation, services/guests).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import joinedload

from .. import policy
from ..extensions import db
from ..i18n import _
from ..models import DirectNotice, Discussion, Group, Membership, Poll, ThreadGuest, User, utcnow
from ..rendering import mentioned_handles

MAX_NAMES = 50
SUGGESTIONS = 8
_NAME = re.compile(r"^@?[a-z0-9][a-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s<>,;]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


@dataclass
class Told:
    """Who a list of names reaches (`via`: user id → the name that reached them) and what reached nobody."""

    via: dict[int, str] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)

    @property
    def user_ids(self) -> list[int]:
        return sorted(self.via)


def handle_of(user: User) -> str:
    return (user.email or "").split("@")[0].lower()


def _readers(group: Group, discussion: Discussion | None, users: list[User]) -> set[int]:
    """Ids of `users` who may read the thread (or, without one, the group's content)."""
    member_ids = set(db.session.scalars(select(Membership.user_id).where(
        Membership.group_id == group.id, Membership.user_id.in_([u.id for u in users]))))
    if discussion is None:
        return policy.content_viewers(users, group, member_ids)
    return policy.discussion_viewers(users, discussion, member_ids, policy.thread_guest_ids(discussion))


def nameable_groups(group: Group, actor) -> list[Group]:
    """The groups one may name in `group`'s threads: itself, its subgroups and its parent, those the actor may know of."""
    ids = [group.id] + ([group.parent_id] if group.parent_id else [])
    found = list(db.session.scalars(select(Group).where(
        or_(Group.id.in_(ids), Group.parent_id == group.id), Group.archived_at.is_(None)).order_by(Group.handle)))
    return [g for g in found if g.id == group.id or policy.can_see_group(actor, g)]


def _people_in(group_ids: list[int]) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id.in_(group_ids), User.deleted_at.is_(None)).distinct()))


def _guests(discussion: Discussion | None) -> list[User]:
    if discussion is None:
        return []
    return list(db.session.scalars(
        select(User).join(ThreadGuest, ThreadGuest.user_id == User.id)
        .where(ThreadGuest.discussion_id == discussion.id, ThreadGuest.removed_at.is_(None),
               User.deleted_at.is_(None))))


def _in_thread(discussion: Discussion) -> list[User]:
    """The thread's author and everyone who has commented in it (what any reader of it sees)."""
    from ..models import Comment

    ids = set(db.session.scalars(select(Comment.author_id).where(
        Comment.discussion_id == discussion.id, Comment.deleted_at.is_(None)).distinct()))
    ids.add(discussion.author_id)
    ids.discard(None)
    return list(db.session.scalars(select(User).where(User.id.in_(ids), User.deleted_at.is_(None))))


def resolve(group: Group, discussion: Discussion | None, names, *, actor) -> Told:
    """Who `names` (handles, @group handles, addresses) reach among the readers of the thread."""
    from .accounts import user_by_email

    told = Told()
    names = [n for n in dict.fromkeys((n or "").strip().lower() for n in names) if n][:MAX_NAMES]
    if not names:
        return told
    groups = {g.handle: g for g in nameable_groups(group, actor)}
    candidates = _people_in([group.id]) + _guests(discussion)
    by_handle: dict[str, list[User]] = {}
    for user in candidates:
        by_handle.setdefault(handle_of(user), []).append(user)
    me = getattr(actor, "id", None)
    for name in names:
        handle = name.lstrip("@")
        if "@" in handle:  # an address: the person must already be one who may read the thread
            person = user_by_email(handle)
            match = [u for u in candidates if person is not None and u.id == person.id]
            via = handle
        elif handle in groups:
            match, via = _people_in([groups[handle].id]), "@" + handle
        else:
            match, via = by_handle.get(handle, []), "@" + handle
        readers = _readers(group, discussion, match) if match else set()
        reached = [u for u in match if u.id in readers and u.id != me]
        if not reached:
            if not (match and all(u.id == me for u in match)):  # naming only oneself is no mistake
                told.left_out.append(via)
            continue
        for user in reached:
            told.via.setdefault(user.id, via)
    return told


def mentioned(group_id: int, text: str, *, discussion_id: int | None = None, actor=None,
              exclude: set[str] | None = None) -> list[int]:
    """User ids the @names in `text` reach (see the module's rule); `exclude`: names already mentioned before an edit."""
    handles = mentioned_handles(text) - (exclude or set())
    if not handles:
        return []
    group = db.session.get(Group, group_id)
    discussion = db.session.get(Discussion, discussion_id) if discussion_id else None
    return resolve(group, discussion, sorted(handles)[:MAX_NAMES], actor=actor).user_ids


def split_names(raw: str) -> list[str]:
    """"a@b.org, @garden ada" → the names, each checked: an address or a handle."""
    from .errors import Invalid

    parts = [p.strip().strip("<>") for p in re.split(r"[\s,;]+", raw or "") if p.strip()]
    if len(parts) > MAX_NAMES:
        raise Invalid(_("Name at most %(limit)s people or groups to tell.", limit=MAX_NAMES), field="notify")
    for part in parts:
        if not (_EMAIL.match(part) or _NAME.match(part.lower())):
            raise Invalid(_("“%(name)s” is neither an email address nor a @name.", name=part[:80]), field="notify")
    return parts


def record_notices(told: Told, *, actor_id: int, discussion_id: int | None = None, poll_id: int | None = None) -> None:
    """Note who was told directly, and when (the thread page lists them)."""
    now = utcnow()
    for uid, via in told.via.items():
        db.session.add(DirectNotice(discussion_id=discussion_id, poll_id=poll_id, user_id=uid, via=via[:254],
                                    requested_by_id=actor_id, created_at=now))


@lru_cache(maxsize=None)
def _statement(name: str):
    # The thread page's statements here, built once: a statement object keeps its cache key.
    if name == "notices":
        polls = select(Poll.id).where(Poll.discussion_id == bindparam("discussion_id"))
        return (select(DirectNotice).options(joinedload(DirectNotice.user))
                .where(or_(DirectNotice.discussion_id == bindparam("discussion_id"), DirectNotice.poll_id.in_(polls)))
                .order_by(DirectNotice.created_at, DirectNotice.id))
    if name == "titles":
        return select(Membership.user_id, Membership.title).where(
            Membership.group_id == bindparam("group_id"), Membership.title.is_not(None),
            func.length(Membership.title) > 0)
    raise KeyError(name)


def notices_for(discussion: Discussion) -> list[DirectNotice]:
    """Who was told directly of the thread or its polls, and when, oldest first."""
    return list(db.session.scalars(_statement("notices"), {"discussion_id": discussion.id}))


def suggestions(group: Group, discussion: Discussion | None, prefix: str, *, actor) -> list[tuple[str, str]]:
    """(handle, who) the actor may @mention whose handle or name starts with `prefix`: people who may
    read the thread, and the groups one may name (their readers are who the name reaches)."""
    prefix = (prefix or "").strip().lstrip("@").lower()[:64]
    out: list[tuple[str, str]] = []
    if not policy.is_member(actor, group):
        # A guest sees nothing of the group beyond the thread: only names already in it are offered.
        people = _in_thread(discussion) + _guests(discussion) if discussion is not None else []
    else:
        for g in nameable_groups(group, actor):
            if g.handle.startswith(prefix) or g.name.lower().startswith(prefix):
                out.append((g.handle, f"{g.name} (group)"))
        people = _people_in([group.id]) + _guests(discussion)
    readers = _readers(group, discussion, people) if people else set()
    titles = titles_in(group.id)
    seen: set[int] = set()
    for user in sorted(people, key=lambda u: handle_of(u)):
        if user.id in seen or user.id not in readers or user.id == getattr(actor, "id", None):
            continue
        seen.add(user.id)
        name = (user.name or "").lower()
        if handle_of(user).startswith(prefix) or name.startswith(prefix) or any(
                w.startswith(prefix) for w in name.split()):
            who = user.display_name + (f" ({titles[user.id]})" if titles.get(user.id) else "")
            out.append((handle_of(user), who))
    return out[:SUGGESTIONS]


def titles_in(group_id: int) -> dict[int, str]:
    """{user id: title} of the group's members who have a title (one query)."""
    return {uid: title for uid, title in db.session.execute(_statement("titles"), {"group_id": group_id})}
