"""Threads and comments: start, comment, reply, react, attach, edit (with history), delete,
close, pin, move, and reading (the thread page and read tracking).

@mentions: a member's handle is the part of their email address before the @, lower-cased
(ada@example.org is @ada). Events store the mentioned members' user ids in `mentions`,
only for members of the thread's group.
"""
from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import joinedload

from .. import policy
from ..extensions import db
from ..i18n import _, _l, number
from ..text import one_line
from ..models.users import display_name
from ..models import (REACTIONS, Attachment, Comment, Discussion, Group, Membership, Poll, Reaction, ReadState, User,
                      Version, utcnow)
from ..rendering import mentioned_handles
from . import attachments as attachment_files
from . import events
from .accounts import acting_member
from .errors import Invalid, NotAllowed, NotFound, all_or_nothing

TITLE_MAX = 200
BODY_MAX = 100_000
# Top-level comments per page of a thread (with all their replies); 200 comments fit on one page.
PAGE_SIZE = 250
# The sections other areas add to the thread page, wired by the factory: each callable takes
# (discussion, user) and returns the section's template context.
THREAD_PAGE_SECTIONS = "quorum_thread_page_sections"


def clean_title(title: str, *, what: str = "thread") -> str:
    """A thread's (or poll's) title as kept: one clean line, not empty, not too long."""
    title = one_line(title)
    if not title:
        raise Invalid(_("Please give the poll a title.") if what == "poll" else _("Please give the thread a title."),
                      field="title")
    if len(title) > TITLE_MAX:
        raise Invalid(_("Titles can be at most %(limit)s characters.", limit=TITLE_MAX), field="title")
    return title


def _clean_body(body: str, *, required: bool, field: str = "body") -> str:
    body = (body or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if required and not body:
        raise Invalid(_("Please write something first."), field=field)
    if len(body) > BODY_MAX:
        raise Invalid(_("That is too long: at most %(limit)s characters.", limit=number(BODY_MAX)), field=field)
    return body


@lru_cache(maxsize=None)
def _statement(name: str):
    """The thread page's statements, built once with bound parameters (a statement object keeps its
    cache key, so a page view binds values instead of building and hashing each statement again)."""
    if name == "discussion":
        return (select(Discussion).options(joinedload(Discussion.group), joinedload(Discussion.author))
                .where(Discussion.id == bindparam("id")))
    if name == "read_state":
        return select(ReadState).where(ReadState.user_id == bindparam("user_id"),
                                       ReadState.discussion_id == bindparam("discussion_id"))
    if name == "attachments":
        return select(Attachment).where(Attachment.discussion_id == bindparam("discussion_id")).order_by(Attachment.id)
    if name == "reactions":
        return (select(Reaction.comment_id, Reaction.emoji, Reaction.user_id)
                .where(Reaction.discussion_id == bindparam("discussion_id")))
    raise KeyError(name)


def visible_discussion(user, discussion_id: int) -> Discussion:
    """The thread, if this person may read it; NotFound otherwise (the same answer either way)."""
    discussion = db.session.scalar(_statement("discussion"), {"id": discussion_id})
    if discussion is None or not policy.can_view_discussion(user, discussion):
        raise NotFound(_("There is no such thread."))
    return discussion


def visible_comment(user, comment_id: int) -> Comment:
    """A comment (not deleted) in a thread this person may read; NotFound otherwise."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound(_("There is no such comment."))
    visible_discussion(user, comment.discussion_id)
    return comment


def attachments_of(comment_id: int) -> list[Attachment]:
    return list(db.session.scalars(select(Attachment).where(Attachment.comment_id == comment_id)))


def resolve_mentions(group_id: int, text: str, *, exclude: set[str] | None = None,
                     discussion_id: int | None = None, actor=None) -> list[int]:
    """User ids the @mentions in the text reach: with a thread, the one rule of services/mentions
    (people and @groups, only those who may read it); else the group's members by handle."""
    if discussion_id is not None:
        from . import mentions

        return mentions.mentioned(group_id, text, discussion_id=discussion_id, actor=actor, exclude=exclude)
    handles = mentioned_handles(text) - (exclude or set())
    if not handles:
        return []
    conditions = [func.lower(User.email).like(handle.replace("%", "").replace("_", r"\_") + "@%", escape="\\")
                  for handle in sorted(handles)[:50]]
    rows = db.session.execute(
        select(User.id, User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group_id, User.deleted_at.is_(None), or_(*conditions))).all()
    return sorted(uid for uid, email in rows if email and email.split("@")[0].lower() in handles)


def participate(user_id: int, discussion: Discussion, *, read: bool = True) -> ReadState:
    """Taking part subscribes you to the thread (and you have read what you wrote)."""
    state = db.session.scalar(
        select(ReadState).where(ReadState.user_id == user_id, ReadState.discussion_id == discussion.id)
    )
    if state is None:
        state = ReadState(user_id=user_id, discussion_id=discussion.id, read_comments_count=0)
        db.session.add(state)
    state.participating = True
    if read:
        state.last_read_at = utcnow()
        state.read_comments_count = discussion.comments_count
    return state


def _add_version(item_type: str, item_id: int, author_id: int, body: str, title: str | None = None) -> Version:
    number = (db.session.scalar(select(func.max(Version.number)).where(
        Version.item_type == item_type, Version.item_id == item_id)) or 0) + 1
    version = Version(item_type=item_type, item_id=item_id, number=number, author_id=author_id, title=title, body=body)
    db.session.add(version)
    return version


def _ensure_first_version(item_type: str, item, title: str | None = None) -> None:
    """Items made before history existed (imports, fixtures) get their original as version 1."""
    exists = db.session.scalar(select(Version.id).where(Version.item_type == item_type, Version.item_id == item.id))
    if exists is None:
        db.session.add(Version(item_type=item_type, item_id=item.id, number=1, author_id=item.author_id,
                               title=title, body=item.body, created_at=item.created_at))
        db.session.flush()


@all_or_nothing
def start_thread(*, actor_id: int, group_id: int, title: str, body: str = "", source: str = "web",
                 files: list[tuple[str, bytes]] | None = None, inbound_message_id: int | None = None,
                 allowed_by_id: int | None = None, notify: str = "") -> Discussion:
    """A new thread by `actor_id`; with `allowed_by_id`, a held non-member's message that one of the
    group's admins chose to post once (the admin's power is what is checked then). `notify` names
    people, subgroups or the whole group to tell at once ("ada@example.org, @garden"): only those
    who may read it are told; the names that reached nobody are left in `discussion.notify_left_out`."""
    user = acting_member(actor_id)
    group = db.session.get(Group, group_id)
    deciding = acting_member(allowed_by_id) if allowed_by_id is not None else user
    if group is None or not policy.can_see_group(deciding, group):
        raise NotFound(_("There is no such group."))
    if allowed_by_id is not None:
        if not policy.can_manage_members(deciding, group):
            raise NotAllowed(_("Only this group's admins can post held mail."))
    elif not policy.can_start_thread(user, group):
        raise NotAllowed(_("Only this group's admins can start threads here.") if policy.is_member(user, group)
                         else _("Only members of this group can start threads here."))
    title, body = clean_title(title), _clean_body(body, required=False)
    from . import mentions

    names = mentions.split_names(notify) if notify else []
    uploads = attachment_files.check(files or [])
    discussion = Discussion(group_id=group.id, author_id=user.id, title=title, body=body, source=source,
                            inbound_message_id=inbound_message_id)
    db.session.add(discussion)
    db.session.flush()
    db.session.add(Version(item_type="discussion", item_id=discussion.id, number=1, author_id=user.id,
                           title=discussion.title, body=discussion.body))
    stored = attachment_files.store(uploads, uploader_id=user.id, discussion_id=discussion.id)
    participate(user.id, discussion)
    told = mentions.resolve(group, discussion, names, actor=user)
    mentions.record_notices(told, actor_id=user.id, discussion_id=discussion.id)
    events.record("discussion_started", actor_id=user.id, group_id=group.id, discussion_id=discussion.id,
                          mentions=[uid for uid in resolve_mentions(group.id, body, discussion_id=discussion.id,
                                                                    actor=user) if uid != user.id],
                          notify_ids=told.user_ids)
    _commit(stored)
    discussion.notify_left_out = told.left_out  # for the page or mail that confirms it (not stored)
    return discussion


def _commit(stored: list[Attachment]) -> None:
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        attachment_files.discard(stored)
        raise


@all_or_nothing
def post_comment(*, actor_id: int, discussion_id: int, body: str, parent_id: int | None = None,
                 source: str = "web", inbound_message_id: int | None = None,
                 files: list[tuple[str, bytes]] | None = None) -> Comment:
    user = acting_member(actor_id)
    discussion = db.session.get(Discussion, discussion_id)
    if discussion is None or not policy.can_view_discussion(user, discussion):
        raise NotFound(_("There is no such thread."))
    if discussion.closed_at is not None:
        raise NotAllowed(_("This thread is closed, so it takes no new comments."))
    if not policy.can_comment(user, discussion):
        raise NotAllowed(_("Only members of this group can comment here."))
    parent = None
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id)
        if parent is None or parent.discussion_id != discussion.id:
            raise Invalid(_("The comment you are replying to is not in this thread."), field="parent_id")
        # One level of replies: answering a reply answers its top-level comment.
        if parent.parent_id is not None:
            parent = db.session.get(Comment, parent.parent_id)
    body = _clean_body(body, required=True)
    uploads = attachment_files.check(files or [])
    comment = Comment(discussion_id=discussion.id, author_id=user.id, parent_id=parent.id if parent else None,
                      body=body, source=source, inbound_message_id=inbound_message_id)
    db.session.add(comment)
    discussion.comments_count = (discussion.comments_count or 0) + 1
    discussion.last_activity_at = utcnow()
    db.session.flush()
    db.session.add(Version(item_type="comment", item_id=comment.id, number=1, author_id=user.id, body=comment.body))
    stored = attachment_files.store(uploads, uploader_id=user.id, discussion_id=discussion.id, comment_id=comment.id)
    participate(user.id, discussion)
    events.record("comment_posted", actor_id=user.id, group_id=discussion.group_id,
                          discussion_id=discussion.id, comment_id=comment.id,
                          parent_author_id=parent.author_id if parent else None,
                          mentions=[uid for uid in resolve_mentions(discussion.group_id, body,
                                                                    discussion_id=discussion.id, actor=user)
                                    if uid != user.id])
    _commit(stored)
    return comment


def _comment_for(user: User, comment_id: int) -> Comment:
    comment = db.session.get(Comment, comment_id)
    if comment is None or not policy.can_view_discussion(user, comment.discussion):
        raise NotFound(_("There is no such comment."))
    return comment


@all_or_nothing
def edit_comment(*, actor_id: int, comment_id: int, body: str) -> Comment:
    """Save a new version; every earlier one stays viewable in the history."""
    user = acting_member(actor_id)
    comment = _comment_for(user, comment_id)
    if not policy.can_edit_comment(user, comment):
        raise NotAllowed(_("You cannot edit this comment."))
    body = _clean_body(body, required=True)
    if body == comment.body:
        return comment
    _ensure_first_version("comment", comment)
    old = comment.body
    comment.body, comment.edited_at = body, utcnow()
    _add_version("comment", comment.id, user.id, body)
    events.record("comment_edited", actor_id=user.id, group_id=comment.discussion.group_id,
                          discussion_id=comment.discussion_id, comment_id=comment.id,
                          mentions=[uid for uid in resolve_mentions(comment.discussion.group_id, body,
                                                                    exclude=mentioned_handles(old),
                                                                    discussion_id=comment.discussion_id, actor=user)
                                    if uid != user.id])
    db.session.commit()
    return comment


@all_or_nothing
def edit_discussion(*, actor_id: int, discussion_id: int, title: str, body: str) -> Discussion:
    user = acting_member(actor_id)
    discussion = visible_discussion(user, discussion_id)
    if not policy.can_edit_discussion(user, discussion):
        raise NotAllowed(_("Only the thread's author and the group's admins can edit it."))
    title, body = clean_title(title), _clean_body(body, required=False)
    if (title, body) == (discussion.title, discussion.body):
        return discussion
    _ensure_first_version("discussion", discussion, title=discussion.title)
    old = discussion.body
    discussion.title, discussion.body, discussion.edited_at = title, body, utcnow()
    _add_version("discussion", discussion.id, user.id, body, title=title)
    events.record("discussion_edited", actor_id=user.id, group_id=discussion.group_id,
                          discussion_id=discussion.id,
                          mentions=[uid for uid in resolve_mentions(discussion.group_id, body,
                                                                    exclude=mentioned_handles(old),
                                                                    discussion_id=discussion.id, actor=user)
                                    if uid != user.id])
    db.session.commit()
    return discussion


def delete_comment(*, actor_id: int, comment_id: int) -> Comment:
    """Soft delete: the comment disappears from pages, search and counts; its replies stay."""
    user = acting_member(actor_id)
    comment = _comment_for(user, comment_id)
    if not policy.can_delete_comment(user, comment):
        raise NotAllowed(_("You cannot delete this comment."))
    discussion = comment.discussion
    comment.deleted_at = utcnow()
    discussion.comments_count = max((discussion.comments_count or 0) - 1, 0)
    # Readers who had seen it had counted it; keep their unread counts right.
    db.session.execute(update(ReadState).where(
        ReadState.discussion_id == discussion.id, ReadState.read_comments_count > 0,
        ReadState.last_read_at >= comment.created_at).values(read_comments_count=ReadState.read_comments_count - 1))
    events.record("comment_deleted", actor_id=user.id, group_id=discussion.group_id,
                          discussion_id=discussion.id, comment_id=comment.id)
    db.session.commit()
    return comment


def delete_discussion(*, actor_id: int, discussion_id: int) -> Discussion:
    user = acting_member(actor_id)
    discussion = visible_discussion(user, discussion_id)
    if not policy.can_delete_discussion(user, discussion):
        raise NotAllowed(_("Only the thread's author and the group's admins can delete it."))
    discussion.deleted_at = utcnow()
    events.record("discussion_deleted", actor_id=user.id, group_id=discussion.group_id,
                          discussion_id=discussion.id)
    db.session.commit()
    return discussion


def set_closed(*, actor_id: int, discussion_id: int, closed: bool) -> Discussion:
    user = acting_member(actor_id)
    discussion = visible_discussion(user, discussion_id)
    if not policy.can_close_discussion(user, discussion):
        raise NotAllowed(_("Only the thread's author and the group's admins can close or reopen it."))
    if (discussion.closed_at is not None) == closed:
        return discussion
    discussion.closed_at = utcnow() if closed else None
    events.record("discussion_closed" if closed else "discussion_reopened", actor_id=user.id,
                          group_id=discussion.group_id, discussion_id=discussion.id)
    db.session.commit()
    return discussion


def set_pinned(*, actor_id: int, discussion_id: int, pinned: bool) -> Discussion:
    user = acting_member(actor_id)
    discussion = visible_discussion(user, discussion_id)
    if not policy.can_pin_discussion(user, discussion):
        raise NotAllowed(_("Only the group's admins can pin threads."))
    if (discussion.pinned_at is not None) == pinned:
        return discussion
    discussion.pinned_at = utcnow() if pinned else None
    events.record("discussion_pinned", actor_id=user.id, group_id=discussion.group_id,
                          discussion_id=discussion.id, pinned=pinned)
    db.session.commit()
    return discussion


def move_targets(user, discussion: Discussion) -> list[Group]:
    """Groups this person administers that the thread could move to."""
    if not policy.can_move_discussion(user, discussion):
        return []
    rows = db.session.execute(
        select(Group, Membership).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id, Membership.role == "admin", Group.archived_at.is_(None),
               Group.id != discussion.group_id).order_by(Group.name)).all()
    # The memberships came with the groups: the admin check below asks no query per group.
    policy.prime_memberships(user, [m for _, m in rows])
    return [group for group, _ in rows if policy.is_admin(user, group)]


# Who may read a group's threads, narrowest first: moving a thread up this order widens its readers.
PRIVACY_ORDER = ("secret", "closed", "open")
WHO_READS = {"secret": _l("only its members, in a group no one else can find"),
             "closed": _l("its members, in a group anyone can find and ask to join"),
             "open": _l("anyone, even without an account")}


def widens_readers(source: Group, target: Group) -> bool:
    """Would moving a thread from `source` to `target` let more kinds of people see it?"""
    rank = {name: i for i, name in enumerate(PRIVACY_ORDER)}
    return rank.get(target.privacy, 0) > rank.get(source.privacy, 0)


@all_or_nothing
def move_discussion(*, actor_id: int, discussion_id: int, to_group_id: int, confirm_wider: bool = False) -> Discussion:
    """Move a thread between two groups the actor administers. Into a more public group
    (secret < closed < open) only with `confirm_wider`: a move must never quietly widen who reads it."""
    user = acting_member(actor_id)
    discussion = visible_discussion(user, discussion_id)
    target = db.session.get(Group, to_group_id)
    if target is None or not policy.can_see_group(user, target):
        raise Invalid(_("Choose one of the groups you administer."), field="group")
    if target.id == discussion.group_id:
        raise Invalid(_("The thread is already in that group."), field="group")
    if not policy.can_move_discussion(user, discussion, target):
        raise NotAllowed(_("You can move a thread only between groups you administer."))
    source = discussion.group
    if widens_readers(source, target) and not confirm_wider:
        raise Invalid(_("In %(target)s (%(target_privacy)s) “%(title)s” could be read by %(target_readers)s; in "
                        "%(source)s (%(source_privacy)s) it is read by %(source_readers)s. The thread was not moved. "
                        "To move it anyway, tick “Let more people read it” and move it again.",
                        target=target.name, target_privacy=target.privacy, title=discussion.title,
                        target_readers=WHO_READS[target.privacy], source=source.name, source_privacy=source.privacy,
                        source_readers=WHO_READS[source.privacy]), field="confirm_wider")
    from_group_id = discussion.group_id
    discussion.group_id = target.id
    # The thread's polls go with it (their votes, options and attachments hang off the poll; the
    # thread's attachments and search entries off the thread), so nothing stays readable behind.
    db.session.execute(update(Poll).where(Poll.discussion_id == discussion.id).values(group_id=target.id)
                       .execution_options(synchronize_session="fetch"))
    db.session.flush()
    db.session.refresh(discussion)
    events.record("discussion_moved", actor_id=user.id, group_id=target.id, discussion_id=discussion.id,
                          from_group_id=from_group_id)
    db.session.commit()
    return discussion


@all_or_nothing
def toggle_reaction(*, actor_id: int, discussion_id: int, emoji: str, comment_id: int | None = None) -> bool:
    """Add the reaction, or take it back if already given. Returns True when added."""
    user = acting_member(actor_id)
    discussion = visible_discussion(user, discussion_id)
    if emoji not in REACTIONS:
        raise Invalid(_("Choose one of the reactions shown."), field="emoji")
    if not policy.can_react(user, discussion):
        raise NotAllowed(_("Only members of this group can react here."))
    if comment_id is not None:
        comment = db.session.get(Comment, comment_id)
        if comment is None or comment.discussion_id != discussion.id or comment.deleted_at is not None:
            raise NotFound(_("There is no such comment."))
    existing = db.session.scalar(select(Reaction).where(
        Reaction.user_id == user.id, Reaction.discussion_id == discussion.id, Reaction.emoji == emoji,
        Reaction.comment_id.is_(None) if comment_id is None else Reaction.comment_id == comment_id))
    if existing is not None:
        db.session.delete(existing)
        db.session.commit()
        return False
    db.session.add(Reaction(user_id=user.id, discussion_id=discussion.id, comment_id=comment_id, emoji=emoji))
    events.record("reaction_added", actor_id=user.id, group_id=discussion.group_id,
                          discussion_id=discussion.id, comment_id=comment_id, emoji=emoji)
    db.session.commit()
    return True


# --- Reading ----------------------------------------------------------------------

def mark_read(*, user_id: int, discussion_id: int) -> None:
    """Remember how far the member has read (a read receipt for themselves, not an action)."""
    discussion = db.session.get(Discussion, discussion_id)
    state = db.session.scalar(select(ReadState).where(ReadState.user_id == user_id,
                                                      ReadState.discussion_id == discussion_id))
    if state is None:
        state = ReadState(user_id=user_id, discussion_id=discussion_id, read_comments_count=0)
        db.session.add(state)
    state.last_read_at = utcnow()
    state.read_comments_count = discussion.comments_count
    db.session.commit()


def mark_all_read(*, user_id: int, group_id: int | None = None) -> int:
    """Mark every thread in the member's groups (or one group) read; returns how many changed."""
    user = acting_member(user_id)
    group_ids = list(db.session.scalars(select(Membership.group_id).where(Membership.user_id == user.id)))
    if group_id is not None:
        if group_id not in group_ids:
            raise NotFound(_("There is no such group."))
        group_ids = [group_id]
    if not group_ids:
        return 0
    rows = db.session.execute(
        select(Discussion, ReadState)
        .outerjoin(ReadState, (ReadState.discussion_id == Discussion.id) & (ReadState.user_id == user.id))
        .where(Discussion.group_id.in_(group_ids), Discussion.deleted_at.is_(None))).all()
    now, changed = utcnow(), 0
    for discussion, state in rows:
        if state is None:
            state = ReadState(user_id=user.id, discussion_id=discussion.id)
            db.session.add(state)
        elif state.last_read_at is not None and state.read_comments_count >= discussion.comments_count:
            continue
        state.last_read_at, state.read_comments_count = now, discussion.comments_count
        changed += 1
    db.session.commit()
    return changed


class CommentAuthor:
    """The little of a comment's author the thread page shows."""

    __slots__ = ("id", "display_name")

    def __init__(self, user_id: int, name, email, deleted_at, bot_group_id):
        self.id = user_id
        self.display_name = display_name(name, email, deleted_at, bot=bot_group_id is not None)


class CommentRow:
    """A comment as the thread page reads it (what the templates and ThreadPermissions ask of a
    Comment), built from plain rows: a long thread's page costs no ORM object per comment."""

    __slots__ = ("id", "discussion_id", "author_id", "parent_id", "body", "created_at", "edited_at", "deleted_at",
                 "author")

    def __init__(self, row):
        (self.id, self.discussion_id, self.author_id, self.parent_id, self.body, self.created_at, self.edited_at,
         self.deleted_at) = row[:8]
        self.author = CommentAuthor(*row[8:]) if row[8] is not None else None


_COMMENT_COLUMNS = (Comment.id, Comment.discussion_id, Comment.author_id, Comment.parent_id, Comment.body,
                    Comment.created_at, Comment.edited_at, Comment.deleted_at,
                    User.id, User.name, User.email, User.deleted_at, User.bot_group_id)


@lru_cache(maxsize=4)
def _comment_page_statement(page_size: int):
    # Built once: a statement object keeps its cache key, so each page view only binds two numbers.
    top_ids = (select(Comment.id).where(Comment.discussion_id == bindparam("discussion_id"), Comment.parent_id.is_(None))
               .order_by(Comment.created_at, Comment.id).offset(bindparam("offset")).limit(page_size + 1)
               .scalar_subquery())
    return (select(*_COMMENT_COLUMNS).outerjoin(User, User.id == Comment.author_id)
            .where(Comment.discussion_id == bindparam("discussion_id"),
                   or_(Comment.id.in_(top_ids), Comment.parent_id.in_(top_ids)))
            .order_by(Comment.created_at, Comment.id))


def comment_page(discussion_id: int, page: int) -> tuple[list[CommentRow], dict[int, list[CommentRow]], bool]:
    """One page of a thread's top-level comments (oldest first), the replies to each, and whether a
    next page follows: one query, however many comments and replies."""
    rows = db.session.execute(_comment_page_statement(PAGE_SIZE),
                              {"discussion_id": discussion_id, "offset": (page - 1) * PAGE_SIZE})
    top: list[CommentRow] = []
    replies: dict[int, list[CommentRow]] = defaultdict(list)
    for row in rows:
        comment = CommentRow(row)
        (top if comment.parent_id is None else replies[comment.parent_id]).append(comment)
    has_more = len(top) > PAGE_SIZE
    if has_more:  # the first of the next page came only to say there is one; its replies go with it
        replies.pop(top.pop().id, None)
    return top, replies, has_more


def thread_page(discussion_id: int, user, *, page: int = 1) -> dict:
    """Everything the thread page shows, in a constant number of queries however long the thread."""
    discussion = visible_discussion(user, discussion_id)
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    membership = policy.membership(user, discussion.group)
    read_state = None
    if signed_in:
        read_state = db.session.scalar(_statement("read_state"), {"user_id": user.id, "discussion_id": discussion.id})
    page = max(int(page or 1), 1)
    top, replies, has_more = comment_page(discussion.id, page)
    reactions = reaction_summary(discussion.id, user)
    files: dict[int | None, list[Attachment]] = defaultdict(list)
    for attachment in db.session.scalars(_statement("attachments"), {"discussion_id": discussion.id}):
        files[attachment.comment_id].append(attachment)
    last_read_at = read_state.last_read_at if read_state else None
    # "New since your last visit": others' comments after the last read; the marker goes before the first.
    new_ids: set[int] = set()
    first_new_id = None
    if signed_in and last_read_at is not None:
        for comment in top:
            for item in [comment, *replies.get(comment.id, [])]:
                if item.created_at > last_read_at and item.author_id != user.id and item.deleted_at is None:
                    new_ids.add(item.id)
                    first_new_id = first_new_id or item.id
    context = {
        "discussion": discussion, "group": discussion.group, "membership": membership,
        "comments": top, "replies": replies, "reactions": reactions, "attachments": files,
        "read_state": read_state, "last_read_at": last_read_at, "first_new_id": first_new_id, "new_ids": new_ids,
        "page": page, "has_more": has_more, "reaction_choices": REACTIONS,
        "move_targets": move_targets(user, discussion) if signed_in else [],
    }
    from . import guests as thread_guests, mentions

    context["titles"] = mentions.titles_in(discussion.group_id)
    context["is_guest"] = membership is None and policy.is_thread_guest(user, discussion)
    context["guests"] = thread_guests.guests_of(discussion.id) if policy.can_see_guests(user, discussion) else []
    # Who was told (names, subgroups) is the group's business: members only, not its guests.
    context["notices"] = mentions.notices_for(discussion) if membership is not None else []
    for section in current_app.extensions.get(THREAD_PAGE_SECTIONS, ()):
        context.update(section(discussion, user))
    return context


def reaction_summary(discussion_id: int, user, comment_id: int | None = None, *, only_item: bool = False) -> dict:
    """{comment_id or None: {emoji: (count, mine)}} for a whole thread (or one item), in one query."""
    query = _statement("reactions")
    if only_item:
        query = query.where(Reaction.comment_id.is_(None) if comment_id is None else Reaction.comment_id == comment_id)
    counts: dict = defaultdict(lambda: defaultdict(lambda: [0, False]))
    me = user.id if user is not None and getattr(user, "is_authenticated", False) else None
    for cid, emoji, uid in db.session.execute(query, {"discussion_id": discussion_id}):
        entry = counts[cid][emoji]
        entry[0] += 1
        entry[1] = entry[1] or uid == me
    return {cid: {emoji: (n, mine) for emoji, (n, mine) in per.items()} for cid, per in counts.items()}


def history(*, discussion_id: int, user, comment_id: int | None = None) -> dict:
    """Every saved version of the thread (or of one of its comments), newest first."""
    discussion = visible_discussion(user, discussion_id)
    if not policy.can_see_history(user, discussion):
        raise NotFound(_("There is no such thread."))
    item_type, item_id, comment = "discussion", discussion.id, None
    if comment_id is not None:
        comment = db.session.get(Comment, comment_id)
        if comment is None or comment.discussion_id != discussion.id or comment.deleted_at is not None:
            raise NotFound(_("There is no such comment."))
        item_type, item_id = "comment", comment.id
    versions = list(db.session.scalars(
        select(Version).options(joinedload(Version.author))
        .where(Version.item_type == item_type, Version.item_id == item_id).order_by(Version.number.desc())))
    return {"discussion": discussion, "group": discussion.group, "comment": comment, "versions": versions}


def group_threads(group: Group, user, *, limit: int = 100) -> list[dict]:
    """A group's threads for its page, pinned first, with the reader's unread counts."""
    from .dashboard import thread_rows

    me = user.id if user is not None and getattr(user, "is_authenticated", False) else -1
    rows = db.session.execute(
        select(Discussion, ReadState).options(joinedload(Discussion.author))
        .outerjoin(ReadState, (ReadState.discussion_id == Discussion.id) & (ReadState.user_id == me))
        .where(Discussion.group_id == group.id, Discussion.deleted_at.is_(None))
        .order_by(Discussion.pinned_at.is_(None), Discussion.last_activity_at.desc()).limit(limit)).all()
    show_unread = me != -1 and policy.is_member(user, group)
    return [row | {"show_unread": show_unread} for row in thread_rows([(d, r if me != -1 else None) for d, r in rows])]
