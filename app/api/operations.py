"""Every API operation: its description (app/api/schema.py) and its handler, which loads through the
same services as the web's loaders and acts through the same services as the web's forms, so the
policy (app/policy.py) decides every answer. A handler takes the caller and the checked values and
returns JSON-able data; a DomainError becomes problem+json (app/api/dispatch.py)."""
from __future__ import annotations

from datetime import datetime, timezone

from .. import policy
from .. import search as search_index
from ..models import HIDE_RESULTS, REASON_MODES
from ..polls import POLL_TYPES, get_type
from ..services import discussions, groups, invitations, listings
from ..services import polls as poll_service
from ..services.errors import NotAllowed
from . import pages, resources as r
from .schema import FieldError, InvalidRequest, operation

HANDLE = {"handle": "string"}
TEXT = {"type": "string"}


def _group(caller, handle: str):
    return groups.visible_group(caller.user, handle)


def _content_group(caller, handle: str):
    group = _group(caller, handle)
    if not policy.can_view_content(caller.user, group):
        raise NotAllowed("Only members of this group can read its threads.")
    return group


# --- The caller ------------------------------------------------------------------------

@operation("GET", "/me", summary="Who the token belongs to, and what it may do", tag="account",
           response=r._obj({"person": r.PERSON, "scope": {"type": "string", "enum": ["read", "write"]},
                            "bot_group": {"type": ["string", "null"]}}))
def me(caller):
    group = None
    if caller.user.bot_group_id is not None:
        from ..extensions import db
        from ..models import Group

        bot_group = db.session.get(Group, caller.user.bot_group_id)
        group = bot_group.handle if bot_group is not None else None
    return {"person": r.person(caller.user), "scope": caller.token.scope, "bot_group": group}


# --- Groups and members -------------------------------------------------------------------

@operation("GET", "/groups", summary="Groups whose threads you may read", tag="groups", paginated=True,
           response=r.GROUP)
def list_groups(caller, query):
    rows = listings.groups(caller.user, after=pages.after(query, kind="groups"), limit=query["limit"])
    return pages.page(rows, query, kind="groups", position=lambda g: g.id, serialize=lambda g: r.group(g, caller.user))


@operation("GET", "/groups/{handle}", summary="One group", tag="groups", path_types=HANDLE, response=r.GROUP)
def show_group(caller, handle):
    return r.group(_group(caller, handle), caller.user)


@operation("GET", "/groups/{handle}/members", summary="The group's members (its admins only)", tag="groups",
           path_types=HANDLE, paginated=True, response=r.MEMBER)
def list_members(caller, handle, query):
    group = _group(caller, handle)
    rows = listings.members(caller.user, group, after=pages.after(query, kind="members"), limit=query["limit"])
    return pages.page(rows, query, kind="members", position=lambda m: m.id, serialize=r.member)


INVITE = {"type": "object", "additionalProperties": False, "required": ["emails"], "properties": {
    "emails": {"type": "array", "items": {"type": "string", "maxLength": 254}, "minItems": 1, "maxItems": 100},
    "message": {"type": "string", "maxLength": 5000}}}


@operation("POST", "/groups/{handle}/invitations", summary="Invite people by email address", tag="groups",
           writes=True, path_types=HANDLE, body=INVITE, status=201,
           response=r._obj({k: {"type": "array", "items": {"type": "string"}} for k in ("invited", "members", "pending")}))
def invite(caller, handle, body):
    group = _group(caller, handle)
    return invitations.invite(actor_id=caller.id, group_id=group.id, emails=", ".join(body["emails"]),
                              message=body.get("message", ""))


# --- Threads ------------------------------------------------------------------------------

@operation("GET", "/groups/{handle}/threads", summary="The group's threads, newest first", tag="threads",
           path_types=HANDLE, paginated=True, response=r.THREAD)
def list_threads(caller, handle, query):
    group = _content_group(caller, handle)
    rows = listings.threads(caller.user, group, after=pages.after(query, kind="threads"), limit=query["limit"])
    return pages.page(rows, query, kind="threads", position=lambda d: d.id, serialize=r.thread)


NEW_THREAD = {"type": "object", "additionalProperties": False, "required": ["title"], "properties": {
    "title": {"type": "string", "maxLength": 1000}, "body": {"type": "string", "maxLength": 200_000}}}


@operation("POST", "/groups/{handle}/threads", summary="Start a thread", tag="threads", writes=True,
           path_types=HANDLE, body=NEW_THREAD, status=201, response=r.THREAD)
def create_thread(caller, handle, body):
    group = _group(caller, handle)
    d = discussions.start_thread(actor_id=caller.id, group_id=group.id, title=body["title"],
                                 body=body.get("body", ""))
    return r.thread(d)


THREAD_DETAIL = {**r.THREAD, "properties": {**r.THREAD["properties"],
                                            "poll_ids": {"type": "array", "items": {"type": "integer"}}},
                 "required": r.THREAD["required"] + ["poll_ids"]}


@operation("GET", "/threads/{thread_id}", summary="One thread, with the ids of its polls", tag="threads",
           response=THREAD_DETAIL)
def show_thread(caller, thread_id):
    d = discussions.visible_discussion(caller.user, thread_id)
    return {**r.thread(d), "poll_ids": [p.id for p in poll_service.polls_for_thread(d.id, caller.user)]}


@operation("POST", "/threads/{thread_id}/close", summary="Close a thread to new comments", tag="threads",
           writes=True, response=r.THREAD)
def close_thread(caller, thread_id):
    return r.thread(discussions.set_closed(actor_id=caller.id, discussion_id=thread_id, closed=True))


@operation("POST", "/threads/{thread_id}/reopen", summary="Reopen a closed thread", tag="threads",
           writes=True, response=r.THREAD)
def reopen_thread(caller, thread_id):
    return r.thread(discussions.set_closed(actor_id=caller.id, discussion_id=thread_id, closed=False))


# --- Comments -----------------------------------------------------------------------------

@operation("GET", "/threads/{thread_id}/comments", summary="The thread's comments, oldest first", tag="comments",
           paginated=True, response=r.COMMENT)
def list_comments(caller, thread_id, query):
    d = discussions.visible_discussion(caller.user, thread_id)
    rows = listings.comments(caller.user, d, after=pages.after(query, kind="comments"), limit=query["limit"])
    return pages.page(rows, query, kind="comments", position=lambda c: c.id, serialize=r.comment)


NEW_COMMENT = {"type": "object", "additionalProperties": False, "required": ["body"], "properties": {
    "body": {"type": "string", "maxLength": 200_000},
    "parent_id": {"type": ["integer", "null"], "minimum": 1, "maximum": 2_147_483_647,
                  "description": "The comment this one answers."}}}
REPLY = {"type": "object", "additionalProperties": False, "required": ["body"], "properties": {
    "body": {"type": "string", "maxLength": 200_000}}}


@operation("POST", "/threads/{thread_id}/comments", summary="Comment in a thread", tag="comments", writes=True,
           body=NEW_COMMENT, status=201, response=r.COMMENT)
def create_comment(caller, thread_id, body):
    return r.comment(discussions.post_comment(actor_id=caller.id, discussion_id=thread_id, body=body["body"],
                                              parent_id=body.get("parent_id")))


@operation("POST", "/comments/{comment_id}/replies", summary="Reply to a comment", tag="comments", writes=True,
           body=REPLY, status=201, response=r.COMMENT)
def reply(caller, comment_id, body):
    parent = discussions.visible_comment(caller.user, comment_id)
    return r.comment(discussions.post_comment(actor_id=caller.id, discussion_id=parent.discussion_id,
                                              body=body["body"], parent_id=parent.id))


# --- Decisions ----------------------------------------------------------------------------

INT_MAX = 2_147_483_647  # every id and setting is a 32-bit column


def _int(description: str, minimum: int | None = None) -> dict:
    return {"type": ["integer", "null"], "description": description,
            "minimum": -INT_MAX if minimum is None else minimum, "maximum": INT_MAX}


NEW_POLL = {"type": "object", "additionalProperties": False, "required": ["poll_type", "title", "closing_at"],
            "properties": {
    "poll_type": {"type": "string", "enum": list(POLL_TYPES)},
    "title": {"type": "string", "maxLength": 1000},
    "details": {"type": "string", "maxLength": 40_000},
    "closing_at": {"type": "string", "format": "date-time", "maxLength": 64},
    "thread_id": _int("Start it in this thread of the group (else it stands alone).", 1),
    "options": {"type": "array", "items": {"type": "string", "maxLength": 1000}, "maxItems": 100,
                "description": "Option names (poll, dot vote, score, ranked choice)."},
    "slots": {"type": "array", "items": {"type": "string", "format": "date-time", "maxLength": 64}, "maxItems": 100,
              "description": "Meeting time polls: the start of each slot."},
    "duration_minutes": _int("Meeting time polls: how long the meeting is.", 1),
    "time_zone": {"type": "string", "maxLength": 64},
    "anonymous": {"type": "boolean"},
    "hide_results": {"type": "string", "enum": list(HIDE_RESULTS)},
    "voter_scope": {"type": "string", "enum": ["group", "specified"]},
    "voters": {"type": "array", "items": {"type": "string", "maxLength": 254}, "maxItems": 500},
    "reason_mode": {"type": "string", "enum": list(REASON_MODES)},
    "reason_max_length": _int("Longest reason taken.", 1),
    "min_choices": _int("Poll: fewest options a vote picks."), "max_choices": _int("Poll: most options a vote picks."),
    "dots_per_person": _int("Dot vote: dots each voter has."), "min_score": _int("Score: lowest score."),
    "max_score": _int("Score: highest score."), "minimum_rank": _int("Ranked choice: options each vote ranks."),
    "target": _int("Count: how many are needed."),
    "allow_none_of_the_above": {"type": "boolean"}, "voters_can_add_options": {"type": "boolean"},
    "draft": {"type": "boolean", "description": "Save without opening it (no votes, no mail)."}}}


def _when(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc)  # a year-9999 moment with an offset cannot be in UTC
        return moment
    except (ValueError, OverflowError):
        raise InvalidRequest([FieldError(name, "Must be a date and time with its offset, e.g. 2026-12-24T18:00:00Z.")]) from None


def _show_poll(caller, p) -> dict:
    kind = get_type(p.poll_type)
    return r.poll(p, caller.user, results=poll_service.results_for(caller.user, p),
                  stance=poll_service.current_stance(caller.user.id, p.id),
                  outcome=poll_service.latest_outcome(p.id), kind=kind)


@operation("POST", "/groups/{handle}/polls", summary="Start a decision (any of the nine types)", tag="polls",
           writes=True, path_types=HANDLE, body=NEW_POLL, status=201, response=r.POLL)
def create_poll(caller, handle, body):
    group = _group(caller, handle)
    values = dict(body)
    thread_id = values.pop("thread_id", None)
    if thread_id is not None:
        d = discussions.visible_discussion(caller.user, thread_id)
        if d.group_id != group.id:
            raise InvalidRequest([FieldError("thread_id", "That thread is not in this group.")])
    values["closing_at"] = _when(values["closing_at"], "closing_at")
    if "slots" in values:
        values["slots"] = [_when(s, "slots") for s in values["slots"]]
    values = {k: v for k, v in values.items() if v is not None}
    p = poll_service.create_poll(actor_id=caller.id, group_id=None if thread_id else group.id,
                                 discussion_id=thread_id, **values)
    return _show_poll(caller, p)


@operation("GET", "/polls/{poll_id}", summary="A decision, with its results as far as you may see them",
           tag="polls", response=r.POLL,
           description="Hidden results (until you vote, until it closes) and anonymous polls (counted at closing, "
                       "never who chose what) follow the same rules as the poll's page.")
def show_poll(caller, poll_id):
    return _show_poll(caller, poll_service.visible_poll(caller.user, poll_id))


VOTE = {"type": "object", "additionalProperties": False, "properties": {
    "choices": {"type": "object", "propertyNames": {"pattern": "^[0-9]{1,18}$"},
                "additionalProperties": {"type": "integer", "minimum": -2_147_483_647, "maximum": 2_147_483_647},
                "maxProperties": 100,
                "description": "Option id → score (1 to choose an option; a score, dots or a rank where the type counts them)."},
    "text": {"type": "string", "maxLength": 20_000,
             "description": "The vote as you would reply to the poll's email: `agree`, `1, 3`, `A=4, B=2`, …; "
                            "a question's answer."},
    "reason": {"type": ["string", "null"], "maxLength": 20_000}},
    "anyOf": [{"required": ["choices"]}, {"required": ["text"]}]}


@operation("POST", "/polls/{poll_id}/votes", summary="Vote, or change your vote", tag="polls", writes=True,
           body=VOTE, response=r.POLL)
def vote(caller, poll_id, body):
    choices = {int(k): v for k, v in body["choices"].items()} if "choices" in body else None
    poll_service.cast_vote(actor_id=caller.id, poll_id=poll_id, choices=choices, text=body.get("text"),
                           reason=body.get("reason"))
    return _show_poll(caller, poll_service.visible_poll(caller.user, poll_id))


@operation("POST", "/polls/{poll_id}/close", summary="Close a decision now", tag="polls", writes=True,
           response=r.POLL)
def close_poll(caller, poll_id):
    poll_service.close_poll(actor_id=caller.id, poll_id=poll_id)
    return _show_poll(caller, poll_service.visible_poll(caller.user, poll_id))


OUTCOME = {"type": "object", "additionalProperties": False, "required": ["statement"], "properties": {
    "statement": {"type": "string", "maxLength": 40_000},
    "option_id": _int("Meeting time polls: the slot you settled on.", 1)}}


@operation("POST", "/polls/{poll_id}/outcome", summary="State the outcome of a closed decision", tag="polls",
           writes=True, body=OUTCOME, status=201, response=r.POLL)
def set_outcome(caller, poll_id, body):
    poll_service.set_outcome(actor_id=caller.id, poll_id=poll_id, statement=body["statement"],
                             option_id=body.get("option_id"))
    return _show_poll(caller, poll_service.visible_poll(caller.user, poll_id))


# --- Search and notifications -----------------------------------------------------------------

@operation("GET", "/search", summary="Search the threads, comments, decisions, outcomes and vote reasons you may read",
           tag="search",
           query={"q": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Words to find."},
                  "group": {"type": "string", "maxLength": 64, "description": "Only this group (its handle)."},
                  "kind": {"type": "string", "enum": ["thread", "poll", "outcome"],
                           "description": "Only threads and comments, decisions and vote reasons, or outcomes."},
                  "status": {"type": "string", "enum": ["open", "closed"], "description": "Only open or closed ones."}},
           required_query=("q",), paginated=True, response=r.SEARCH_HIT)
def search(caller, query):
    filters = search_index.Filters(group_id=_search_group_id(caller, query.get("group")), kind=query.get("kind"),
                                   status=query.get("status"))
    rows = listings.search(caller.user, query["q"], after=pages.after(query, kind="search"), limit=query["limit"],
                           filters=filters)
    return pages.page(rows, query, kind="search", position=lambda row: row[0], serialize=lambda row: r.search_hit(row[1]))


def _search_group_id(caller, handle: str | None) -> int | None:
    """The group a search is narrowed to: one the caller may see (a group they may not is 404, as anywhere)."""
    if not handle:
        return None
    return groups.visible_group(caller.user, handle).id


@operation("GET", "/notifications", summary="Your notifications, newest first", tag="account", paginated=True,
           response=r.NOTIFICATION)
def list_notifications(caller, query):
    rows = listings.notifications_of(caller.id, after=pages.after(query, kind="notifications"), limit=query["limit"])
    return pages.page(rows, query, kind="notifications", position=lambda item: item["notification"].id,
                      serialize=r.notification)
