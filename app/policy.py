"""Every "may this person do this?" in one place. Views, mail and templates all ask here.

Privacy: an *open* group's content is public; a *closed* group shows its name and
description to everyone and its content to members; a *secret* group does not exist
for non-members (views answer 404, never 403). Site operators see no private content
unless a group admin has granted time-limited support access.
"""
from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import and_, or_, select

from .extensions import db
from .models import Discussion, Group, Membership, Poll, PollVoter, Participation, SupportGrant, utcnow
from .models import ThreadGuest


def _signed_in(user) -> bool:
    return (user is not None and getattr(user, "is_authenticated", False) and user.deleted_at is None
            and getattr(user, "deactivated_at", None) is None)  # a deactivated account acts nowhere


def membership(user, group: Group) -> Membership | None:
    """The member's membership of a group, cached for the request."""
    if not _signed_in(user):
        return None
    cache = g.setdefault("_memberships", {}) if has_request_context() else {}
    key = (user.id, group.id)
    if key not in cache:
        cache[key] = db.session.scalar(
            select(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id)
        )
    return cache[key]


def prime_memberships(user, memberships: list[Membership]) -> None:
    """Tell the cache about memberships already loaded (keeps query counts flat)."""
    if has_request_context() and _signed_in(user):
        cache = g.setdefault("_memberships", {})
        for m in memberships:
            cache[(user.id, m.group_id)] = m


def prime_memberships_in(user, group_ids) -> None:
    """Load this person's memberships of these groups in one query and cache them, and that they are not a
    member of the rest (a page that checks many groups, like search, then asks nothing per group)."""
    if not (has_request_context() and _signed_in(user)):
        return
    ids = list(group_ids)
    cache = g.setdefault("_memberships", {})
    found = {m.group_id: m for m in db.session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.group_id.in_(ids)))} if ids else {}
    for group_id in ids:
        cache[(user.id, group_id)] = found.get(group_id)


def forget_memberships() -> None:
    if has_request_context():
        g.pop("_memberships", None)
        g.pop("_thread_permissions", None)
        g.pop("_guest_threads", None)


def is_member(user, group: Group) -> bool:
    return membership(user, group) is not None


def holds_admin_role(user, group: Group) -> bool:
    """The member has the admin role, whether or not they may use it now (see is_admin)."""
    m = membership(user, group)
    return m is not None and m.role == "admin"


def _acts_as_admin(user, group: Group, m: Membership | None) -> bool:
    """The one admin rule: the admin role, and, where the group requires it, two-factor sign-in on.
    Every admin power below (web, mail commands, anything acting for a person) comes through here."""
    if m is None or m.role != "admin":
        return False
    return not group.admins_require_2fa or has_second_factor(user)


def is_admin(user, group: Group) -> bool:
    """May this person use admin powers in the group now?"""
    return _acts_as_admin(user, group, membership(user, group))


def needs_2fa_to_administer(user, group: Group) -> bool:
    """An admin held back only by the group's two-factor rule (so pages can say why)."""
    return holds_admin_role(user, group) and not is_admin(user, group)


def active_support_grant(user, group: Group) -> SupportGrant | None:
    """A grant letting this site operator (the one it names) see the group's content right now."""
    if not _signed_in(user) or not user.is_site_admin:
        return None
    now = utcnow()
    return db.session.scalar(
        select(SupportGrant).where(
            SupportGrant.group_id == group.id,
            SupportGrant.operator_id == user.id,
            SupportGrant.revoked_at.is_(None),
            SupportGrant.expires_at > now,
        )
    )


# --- Many people at once (fan-out) -------------------------------------------------
# The same rules as can_view_content / can_view_discussion / can_view_poll below, for a list of
# people whose memberships the caller loaded in one query: no query per person.

def content_viewers(users, group: Group, member_ids: set[int]) -> set[int]:
    """Ids of `users` for whom can_view_content(user, group) holds; `member_ids` are the group's members."""
    out: set[int] = set()
    grant: bool | None = None  # support grants are per group: asked at most once
    for user in users:
        signed_in = _signed_in(user)
        if not bot_may_reach(user, group):
            continue
        if signed_in and user.id in member_ids:
            out.add(user.id)
        elif group.archived_at is not None:
            continue
        elif group.privacy == "open":
            out.add(user.id)
        elif signed_in and user.is_site_admin:
            if grant is None:
                grant = active_support_grant(user, group) is not None
            if grant:
                out.add(user.id)
    return out


def discussion_viewers(users, discussion: Discussion, member_ids: set[int],
                       guest_ids: set[int] = frozenset()) -> set[int]:
    """Ids of `users` for whom can_view_discussion(user, discussion) holds; `guest_ids` from
    thread_guest_ids(discussion)."""
    if discussion.deleted_at is not None:
        return set()
    viewers = content_viewers(users, discussion.group, member_ids)
    if discussion.group.archived_at is None:
        viewers |= {user.id for user in users if _signed_in(user) and user.id in guest_ids}
    return viewers


def poll_viewers(users, poll: Poll, member_ids: set[int], named_voter_ids: set[int],
                 guest_ids: set[int] = frozenset()) -> set[int]:
    """Ids of `users` for whom can_view_poll(user, poll) holds; `named_voter_ids` from the poll's PollVoters,
    `guest_ids` the guests of its thread (thread_guest_ids)."""
    if poll_is_gone(poll) or poll.draft:
        return set()
    viewers = content_viewers(users, poll_group(poll), member_ids)
    if poll.discussion is not None and poll_group(poll).archived_at is None:
        viewers |= {user.id for user in users if _signed_in(user) and user.id in guest_ids}
    return viewers | {user.id for user in users if _signed_in(user) and user.id in named_voter_ids}


# --- Groups -----------------------------------------------------------------

def can_see_group(user, group: Group) -> bool:
    """May this person know the group exists (its name, description, size)?"""
    if not bot_may_reach(user, group):
        return False
    if group.archived_at is not None and not is_member(user, group):
        return False
    if group.privacy in ("open", "closed"):
        return True
    return is_member(user, group) or active_support_grant(user, group) is not None


def can_view_content(user, group: Group) -> bool:
    """May this person read the group's threads, comments and polls?

    Every read of a group's content asks this, so a yes that only a support grant gives is noted
    here for the operator access log (written after the request: app/stewardship/grants.py).
    """
    if not can_see_group(user, group):
        return False
    if group.privacy == "open" or is_member(user, group):
        return True
    if active_support_grant(user, group) is None:
        return False
    if has_request_context():
        g.setdefault(READ_UNDER_GRANT, {})[group.id] = group
    return True


READ_UNDER_GRANT = "groups_read_under_grant"  # flask.g: the groups this request read under a grant


def viewing_under_grant(user, group: Group) -> bool:
    """True when the content is visible only because of a support grant (so log the view)."""
    return group.privacy != "open" and not is_member(user, group) and can_view_content(user, group)


# --- The same rule in SQL (search, and anything that filters many groups at once) ----------

def listed(group_table=Group):
    """SQL: the group is not archived. An archived group is hidden from lists, the dashboard and
    digests; its members can still open it, nobody else can see it (can_see_group)."""
    return group_table.archived_at.is_(None)


def in_directory(group_table=Group):
    """SQL: the group is in the directory of open groups: open, not archived, and not opted out.
    Anyone may see an open group and join it, so the directory is for anyone, signed in or not."""
    return (group_table.privacy == "open") & group_table.listed_in_directory.is_(True) & listed(group_table)


def visible_group_ids(user) -> list[int]:
    """Ids of the groups whose content can_view_content lets this person read (a test keeps the two
    in agreement for every role, privacy, grant and archived state)."""
    ids = set(db.session.scalars(select(Group.id).where(Group.privacy == "open", listed())))
    if _signed_in(user):
        ids |= set(db.session.scalars(select(Membership.group_id).where(Membership.user_id == user.id)))
        if user.is_site_admin:
            ids |= set(db.session.scalars(
                select(SupportGrant.group_id).join(Group, Group.id == SupportGrant.group_id)
                .where(SupportGrant.operator_id == user.id, SupportGrant.revoked_at.is_(None),
                       SupportGrant.expires_at > utcnow(), listed())))
    if _signed_in(user) and getattr(user, "bot_group_id", None) is not None:
        ids &= {user.bot_group_id}  # bot_may_reach
    return sorted(ids)


def can_join_directly(user, group: Group) -> bool:
    return _signed_in(user) and group.privacy == "open" and not is_member(user, group) and group.archived_at is None


def can_request_to_join(user, group: Group) -> bool:
    return _signed_in(user) and group.privacy == "closed" and not is_member(user, group) and group.archived_at is None


def can_administer(user, group: Group) -> bool:
    """Admins act as admins; where the group requires it, only with two-factor sign-in on."""
    return is_admin(user, group)


def can_invite(user, group: Group) -> bool:
    m = membership(user, group)
    return m is not None and group.archived_at is None and (_acts_as_admin(user, group, m) or group.members_can_invite)


def can_create_subgroup(user, group: Group) -> bool:
    return group.parent_id is None and is_admin(user, group)


def can_export(user, group: Group) -> bool:
    return can_administer(user, group)


def can_read_feed(user, group: Group) -> bool:
    """May this person read the group's Atom feed? An open group's (not archived) is anyone's; any other
    only its members', through their feed token. Unlike can_view_content, never under a support
    grant: a feed is a standing subscription, a grant a time-limited visit logged page by page."""
    if is_member(user, group):
        return True
    return group.privacy == "open" and group.archived_at is None


def can_read_thread_feed(user, discussion: Discussion) -> bool:
    return discussion.deleted_at is None and can_read_feed(user, discussion.group)



def can_manage_webhooks(user, group: Group) -> bool:
    """Outgoing webhooks post the group's content elsewhere: its admins decide."""
    return is_admin(user, group)


def can_manage_templates(user, group: Group) -> bool:
    """Add, hide, reorder and delete the group's thread and poll templates, and save a thread or poll as one."""
    return can_administer(user, group)


def can_see_members(user, group: Group) -> bool:
    """The member list is content: members (and open groups' visitors) only."""
    return can_view_content(user, group)


def can_change_settings(user, group: Group) -> bool:
    return is_admin(user, group)


def can_manage_members(user, group: Group) -> bool:
    """Change roles, remove members, approve join requests, manage the join link."""
    return is_admin(user, group)


def can_mark_read(user, group: Group) -> bool:
    return is_member(user, group)


# --- Threads and comments ---------------------------------------------------------

def can_view_discussion(user, discussion: Discussion) -> bool:
    if discussion.deleted_at is not None:
        return False
    return can_view_content(user, discussion.group) or is_thread_guest(user, discussion)


def can_start_thread(user, group: Group) -> bool:
    m = membership(user, group)
    if m is None or group.archived_at is not None:
        return False
    return _acts_as_admin(user, group, m) or group.members_can_start_threads


def can_comment(user, discussion: Discussion) -> bool:
    return thread_permissions(user, discussion).can_comment


def can_react(user, discussion: Discussion) -> bool:
    return thread_permissions(user, discussion).can_react


def can_see_history(user, discussion: Discussion) -> bool:
    return can_view_discussion(user, discussion)


def can_edit_discussion(user, discussion: Discussion) -> bool:
    if discussion.deleted_at is not None or discussion.group.archived_at is not None or not is_member(user, discussion.group):
        return False
    return discussion.author_id == user.id or is_admin(user, discussion.group)


def can_close_discussion(user, discussion: Discussion) -> bool:
    return can_edit_discussion(user, discussion)


def can_delete_discussion(user, discussion: Discussion) -> bool:
    return can_edit_discussion(user, discussion)


def can_pin_discussion(user, discussion: Discussion) -> bool:
    return discussion.deleted_at is None and is_admin(user, discussion.group)


def can_move_discussion(user, discussion: Discussion, to_group: Group | None = None) -> bool:
    if not can_pin_discussion(user, discussion):
        return False
    return to_group is None or is_admin(user, to_group)


class ThreadPermissions:
    """What one person may do in one thread, worked out once (a long thread asks per comment)."""

    def __init__(self, user, discussion: Discussion):
        group = discussion.group
        m = membership(user, group)
        self.user_id = user.id if _signed_in(user) else None
        self.group = group
        self.member = m is not None
        self.admin = _signed_in(user) and _acts_as_admin(user, group, m)
        # A guest of this thread takes part in it like a member (and nowhere else).
        self.guest = not self.member and is_thread_guest(user, discussion)
        live = discussion.deleted_at is None and group.archived_at is None  # an archive is read-only
        self.can_react = live and (self.member or self.guest)
        self.can_comment = self.can_react and discussion.closed_at is None

    def can_edit(self, comment) -> bool:
        if comment.deleted_at is not None or not (self.member or self.guest) or self.group.archived_at is not None:
            return False
        if comment.author_id == self.user_id:
            return self.group.members_can_edit_own_comments or self.admin
        return self.admin and self.group.admins_can_edit_others_comments

    def can_delete(self, comment) -> bool:
        if comment.deleted_at is not None or not (self.member or self.guest) or self.group.archived_at is not None:
            return False
        if comment.author_id == self.user_id:
            return self.group.members_can_delete_own_comments or self.admin
        return self.admin and self.group.admins_can_delete_others_comments


def thread_permissions(user, discussion: Discussion) -> ThreadPermissions:
    """The person's permissions in a thread, cached for the request."""
    if not has_request_context():
        return ThreadPermissions(user, discussion)
    cache = g.setdefault("_thread_permissions", {})
    key = (getattr(user, "id", None), discussion.id, discussion.closed_at, discussion.deleted_at)
    if key not in cache:
        cache[key] = ThreadPermissions(user, discussion)
    return cache[key]


def can_edit_comment(user, comment) -> bool:
    return thread_permissions(user, comment.discussion).can_edit(comment)


def can_delete_comment(user, comment) -> bool:
    return thread_permissions(user, comment.discussion).can_delete(comment)


# --- Decisions -------------------------------------------------------------------

def poll_is_gone(poll: Poll) -> bool:
    """Deleted, or inside a deleted thread: a poll's visibility follows its thread."""
    return poll.deleted_at is not None or (poll.discussion is not None and poll.discussion.deleted_at is not None)


def poll_group(poll: Poll) -> Group:
    """The group whose rules a poll follows: its thread's (wherever the thread has moved), else its own."""
    return poll.discussion.group if poll.discussion is not None else poll.group


def can_view_poll(user, poll: Poll) -> bool:
    if poll_is_gone(poll):
        return False
    if poll.draft:  # not opened yet: only those who may open it
        return can_administer_poll(user, poll)
    if can_view_content(user, poll_group(poll)):
        return True
    if poll.discussion is not None and is_thread_guest(user, poll.discussion):
        return True
    return _signed_in(user) and _is_named_voter(user, poll)


def can_create_poll(user, group: Group) -> bool:
    m = membership(user, group)
    if m is None or group.archived_at is not None:
        return False
    return _acts_as_admin(user, group, m) or group.members_can_create_polls


def _is_named_voter(user, poll: Poll) -> bool:
    return db.session.scalar(
        select(PollVoter.id).where(PollVoter.poll_id == poll.id, PollVoter.user_id == user.id)
    ) is not None


def may_vote(user, poll: Poll) -> bool:
    """Is this person in the poll's electorate (whether or not it is open)?"""
    if not _signed_in(user) or poll_is_gone(poll):
        return False
    if poll.voter_scope == "group" and is_member(user, poll_group(poll)):
        return True
    return _is_named_voter(user, poll)


def polls_following(group_ids, *, drafts_of: int | None = None):
    """SQL: the polls not gone (poll_is_gone) and not drafts whose poll_group is one of `group_ids` (a list or
    a subquery); `drafts_of`: also that person's own drafts."""
    live_threads = select(Discussion.id).where(Discussion.group_id.in_(group_ids), Discussion.deleted_at.is_(None))
    drafts = Poll.draft.is_(False) if drafts_of is None else or_(Poll.draft.is_(False), Poll.author_id == drafts_of)
    return and_(Poll.deleted_at.is_(None), drafts, or_(and_(Poll.discussion_id.is_(None), Poll.group_id.in_(group_ids)),
                                               Poll.discussion_id.in_(live_threads)))


def votable_polls(user):
    """SQL: the polls may_vote lets this person vote in (open or not); the poll test keeps the two in agreement."""
    if not _signed_in(user):
        return Poll.id.is_(None)
    member_groups = select(Membership.group_id).where(Membership.user_id == user.id)
    named = select(PollVoter.poll_id).where(PollVoter.user_id == user.id)
    return or_(and_(Poll.voter_scope == "group", polls_following(member_groups)),
               and_(Poll.id.in_(named), polls_following(select(Group.id))))  # named: in whichever group


def voted_polls(user):
    """SQL: the polls has_voted says this person voted in."""
    return Poll.id.in_(select(Participation.poll_id).where(Participation.user_id == user.id))


def can_vote(user, poll: Poll) -> bool:
    return poll.is_open and poll_group(poll).archived_at is None and may_vote(user, poll)


def has_voted(user, poll: Poll) -> bool:
    if not _signed_in(user):
        return False
    return db.session.scalar(
        select(Participation.id).where(Participation.poll_id == poll.id, Participation.user_id == user.id)
    ) is not None


def can_administer_poll(user, poll: Poll) -> bool:
    if not _signed_in(user) or poll_is_gone(poll):
        return False
    group = poll_group(poll)
    # An author who left (or was removed from) the group no longer runs its poll; its admins do.
    return (poll.author_id == user.id and is_member(user, group)) or is_admin(user, group)


def can_see_results(user, poll: Poll) -> bool:
    if not can_view_poll(user, poll):
        return False
    if poll.closed_at is None and poll.hide_results == "until_vote" and not poll.anonymous:
        return has_voted(user, poll)
    return results_visible(poll, voted=False)


def results_visible(poll: Poll, *, voted: bool) -> bool:
    """The hide-results rule alone, for callers (digests) that already know the person may view the poll.

    An anonymous poll is counted when it closes: a tally that moves while people vote, watched
    beside who has voted (or who says so), would tell who chose what.
    """
    if poll.closed_at is not None:
        return True
    if poll.anonymous:
        return False
    if poll.hide_results == "off":
        return True
    if poll.hide_results == "until_vote":
        return voted
    return False  # until_closed


def can_see_undecided(user, poll: Poll) -> bool:
    """Who has not voted yet (for reminding them): poll admins, never for anonymous polls."""
    return not poll.anonymous and can_administer_poll(user, poll)


def can_see_voters(user, poll: Poll) -> bool:
    """Who chose what: never for anonymous polls."""
    return not poll.anonymous and can_see_results(user, poll)


def can_reopen_poll(user, poll: Poll) -> bool:
    return poll.closed_at is not None and not poll.anonymous and can_administer_poll(user, poll)


def can_edit_poll(user, poll: Poll) -> bool:
    """Change an open poll or a draft (title, details, closing time, options): its author or a group admin."""
    return ((poll.is_open or (poll.draft and poll.deleted_at is None)) and poll_group(poll).archived_at is None
            and can_administer_poll(user, poll))


def can_open_poll(user, poll: Poll) -> bool:
    """Open a draft for votes (its mail goes out then)."""
    return poll.draft and poll_group(poll).archived_at is None and can_administer_poll(user, poll)


def can_add_option(user, poll: Poll) -> bool:
    """Add an option to an open poll: whoever may edit it, and its voters where the poll allows it."""
    if not poll.is_open or poll_group(poll).archived_at is not None:
        return False
    return can_edit_poll(user, poll) or (poll.voters_can_add_options and may_vote(user, poll))


def can_remove_vote(user, poll: Poll) -> bool:
    """Take back one's own vote while the poll is open."""
    return poll.is_open and poll_group(poll).archived_at is None and may_vote(user, poll) and has_voted(user, poll)


def can_write_outcome(user, poll: Poll) -> bool:
    return poll.closed_at is not None and can_administer_poll(user, poll)


def findable_reasons(poll_table=Poll):
    """SQL: the polls whose vote reasons search may show beside their voters' names: never an anonymous
    poll's (search finds none of them at all), and only where anyone who may view the poll sees the
    results (closed, or results always shown). The Python form is can_see_voters."""
    return and_(poll_table.anonymous.is_(False), poll_table.draft.is_(False),
                or_(poll_table.closed_at.is_not(None), poll_table.hide_results == "off"))
# --- Guests in one thread -----------------------------------------------------------
# A guest is invited by email into one thread of a group they do not belong to. They read it, its
# polls and attachments, comment, react and reply by mail there, and see nothing else of the group:
# every other rule above is about members, so it keeps saying no to them. Removed, they are nobody.

def _guest_threads(user) -> set[int]:
    """The threads this person is a (not removed) guest in, in groups that are not archived; cached."""
    if not _signed_in(user):
        return set()
    cache = g.setdefault("_guest_threads", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = set(db.session.scalars(
            select(ThreadGuest.discussion_id).join(Discussion, Discussion.id == ThreadGuest.discussion_id)
            .join(Group, Group.id == Discussion.group_id)
            .where(ThreadGuest.user_id == user.id, ThreadGuest.removed_at.is_(None), listed())))
    return cache[user.id]


def is_thread_guest(user, discussion: Discussion) -> bool:
    return discussion.id in _guest_threads(user)


def guest_discussion_ids(user) -> list[int]:
    """Ids of the threads is_thread_guest lets this person read (search and the bell add them to
    visible_group_ids; a test keeps the two in agreement)."""
    return sorted(_guest_threads(user))


def thread_guest_ids(discussion: Discussion) -> set[int]:
    """User ids of the thread's guests (for fan-out, with discussion_viewers / poll_viewers)."""
    return set(db.session.scalars(select(ThreadGuest.user_id).where(
        ThreadGuest.discussion_id == discussion.id, ThreadGuest.removed_at.is_(None))))


def can_invite_guests(user, discussion: Discussion) -> bool:
    """Bring someone from outside into one thread: its author (while a member) or a group admin."""
    group = discussion.group
    if discussion.deleted_at is not None or group.archived_at is not None:
        return False
    return (discussion.author_id == getattr(user, "id", None) and is_member(user, group)) or is_admin(user, group)


def can_remove_guest(user, discussion: Discussion) -> bool:
    return can_invite_guests(user, discussion)


def can_see_guests(user, discussion: Discussion) -> bool:
    """Who the guests are: anyone taking part in the thread (members and its guests)."""
    return can_view_discussion(user, discussion) and (is_member(user, discussion.group)
                                                      or is_thread_guest(user, discussion))


# --- Choosing who is told, mentions, titles ----------------------------------------------

def can_choose_who_is_told(user, group: Group) -> bool:
    """Name people, subgroups or the whole group to tell at once, when starting a thread or poll."""
    return can_start_thread(user, group) or can_create_poll(user, group)


def can_mention_in(user, discussion: Discussion) -> bool:
    """Ask for the names one may @mention in the thread (the suggestion list): those who may write there."""
    return can_comment(user, discussion)


def can_set_titles(user, group: Group) -> bool:
    """Give members titles ("Treasurer") shown beside their names: the group's admins."""
    return is_admin(user, group)


def can_remind(user, poll: Poll) -> bool:
    """Remind the undecided, or one of them by name: the poll's author or a group admin, while it is open."""
    return poll.is_open and can_administer_poll(user, poll)


def can_see_receipts(user, poll: Poll) -> bool:
    """Who took part and when (never what): signed-in people who may see a named poll; never an anonymous one."""
    return _signed_in(user) and not poll.anonymous and not poll.draft and can_view_poll(user, poll)


def can_add_poll_to_thread(user, poll: Poll, discussion: Discussion) -> bool:
    """Put a standalone poll into an open thread of its own group (its author or a group admin, who may
    take part in that thread); the poll then follows the thread's privacy."""
    return (poll.discussion_id is None and discussion.group_id == poll.group_id and discussion.deleted_at is None
            and discussion.closed_at is None and can_administer_poll(user, poll) and can_comment(user, discussion))


# --- Site -----------------------------------------------------------------------

def is_operator(user) -> bool:
    return _signed_in(user) and user.is_site_admin


# --- Bots and API tokens ------------------------------------------------------------

def bot_may_reach(user, group: Group) -> bool:
    """A bot account exists for one group: every other group (open ones too) does not exist for it."""
    bot_group_id = getattr(user, "bot_group_id", None) if _signed_in(user) else None
    return bot_group_id is None or bot_group_id == group.id


def can_manage_bots(user, group: Group) -> bool:
    """Bots act in the group with their own tokens: its admins make and retire them."""
    return is_admin(user, group)


def can_manage_api_tokens(user) -> bool:
    """A person makes and revokes their own personal access tokens; a bot's are its admins' to make."""
    return _signed_in(user) and getattr(user, "bot_group_id", None) is None


def token_allows(scope: str, *, writes: bool) -> bool:
    """A read token reads; only a write token changes anything."""
    return scope == "write" or not writes


# --- Signing in and creating accounts (SIGNIN_METHODS, SIGNUP; docs/SIGNIN.md) --------------------

def may_sign_in_with(method: str) -> bool:
    """May anyone sign in on the web this way ("email" link or code, "password", "oidc", "passkey")?
    (A passkey also answers the second-factor step, whether or not it may sign in alone.)"""
    from flask import current_app

    allowed = current_app.config.get("SIGNIN_METHODS") or ("email", "password", "oidc", "passkey")
    if method == "oidc" and not current_app.config.get("OIDC_PROVIDERS"):
        return False
    return method in allowed


def may_create_own_account(email: str | None) -> bool:
    """May a person with this (proven) address get an account by themselves (signing in, single sign-on,
    a message a group's admin let through)? Under SIGNUP=invite only an invitation makes one; under
    domain:…, only addresses at those domains. An admin's invitation is never refused here."""
    from flask import current_app

    signup = current_app.config.get("SIGNUP") or {"mode": "open", "domains": ()}
    if signup["mode"] == "open":
        return True
    if signup["mode"] == "invite" or not email or "@" not in email:
        return False
    domain = email.rsplit("@", 1)[1].lower()
    return domain in signup["domains"]


def requires_passkey(user) -> bool:
    """The member asked that every way in but a passkey also asks for one (cached for the request)."""
    if getattr(user, "id", None) is None:
        return False
    from .models import PasskeyPreference

    cache = g.setdefault("_passkey_required", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = bool(db.session.scalar(select(PasskeyPreference.passkey_required)
                                                .where(PasskeyPreference.user_id == user.id)))
    return cache[user.id]


def has_second_factor(user) -> bool:
    """Every sign-in of this member passes a second factor: an authenticator app's code, or a passkey
    they require (a passkey sign-in is itself two factors: the device and its PIN or biometrics)."""
    return user.totp_enabled_at is not None or requires_passkey(user)


def can_create_group(user) -> bool:
    """GROUP_CREATION=anyone: any signed-in member; site_admins: only site admins (subgroups follow
    can_create_subgroup: a group's admins add them either way)."""
    from flask import current_app

    if not _signed_in(user):
        return False
    return current_app.config.get("GROUP_CREATION", "anyone") != "site_admins" or user.is_site_admin


def can_manage_people(user) -> bool:
    """The site admin pages (people, groups, branding): site admins only, and never group content."""
    return is_operator(user)


def can_archive_group(user, group: Group) -> bool:
    """Archive (read-only, hidden from lists) or restore: the group's admins, or a site admin."""
    return is_admin(user, group) or is_operator(user)


def can_delete_group(user, group: Group) -> bool:
    """Schedule a group's deletion (after a grace period) or cancel it: site admins."""
    return is_operator(user)


def can_leave_archive(user, group: Group) -> bool:
    """A member of an archived group may leave it (and so stop seeing it), whatever their role."""
    return group.archived_at is not None and is_member(user, group)


# --- Meeting polls as calendar invitations ---------------------------------------------------

def can_answer_invitation(user, poll: Poll) -> bool:
    """May this person's calendar answer (accept, tentative, decline) the meeting's invitation?"""
    return _signed_in(user) and can_view_poll(user, poll)


def can_see_attendance(user, poll: Poll) -> bool:
    """Who may see who answered the invitation, and how: whoever may see the poll."""
    return can_view_poll(user, poll)


def can_withdraw_outcome(user, poll: Poll) -> bool:
    """Taking an outcome back (a meeting's invitation is then cancelled) is for those who write it."""
    return can_administer_poll(user, poll)
