"""How each thing reads as JSON, and its JSON Schema (used in the OpenAPI document and so checked
against every answer by the contract tests)."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from flask import current_app

from .. import policy
from ..models.users import name_of

TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
MAYBE_INT = {"type": ["integer", "null"]}


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def url(path: str) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + path


def _obj(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


PERSON = _obj({"id": MAYBE_INT, "name": {"type": "string"}, "bot": {"type": "boolean"}})


def person(user) -> dict:
    return {"id": user.id if user is not None and user.deleted_at is None else None, "name": name_of(user),
            "bot": bool(user is not None and user.is_bot)}


GROUP = _obj({"handle": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
              "privacy": {"type": "string", "enum": ["open", "closed", "secret"]},
              "url": {"type": "string"}, "is_member": {"type": "boolean"},
              "role": {"type": ["string", "null"], "enum": ["admin", "member", None]}})


def group(g, user) -> dict:
    m = policy.membership(user, g)
    return {"handle": g.handle, "name": g.name, "description": g.description or "", "privacy": g.privacy,
            "url": url(f"/g/{g.handle}"), "is_member": m is not None, "role": m.role if m else None}


MEMBER = _obj({"id": {"type": "integer"}, "person": PERSON, "role": {"type": "string"}, "joined_at": TIME})


def member(m) -> dict:
    return {"id": m.id, "person": person(m.user), "role": m.role, "joined_at": iso(m.created_at)}


THREAD = _obj({
    "id": {"type": "integer"}, "group": {"type": "string"}, "title": {"type": "string"}, "body": {"type": "string"},
    "author": PERSON, "created_at": TIME, "edited_at": MAYBE_TIME, "last_activity_at": TIME, "closed_at": MAYBE_TIME,
    "pinned": {"type": "boolean"}, "comments_count": {"type": "integer"}, "url": {"type": "string"}})


def thread(d) -> dict:
    return {"id": d.id, "group": d.group.handle, "title": d.title, "body": d.body or "", "author": person(d.author),
            "created_at": iso(d.created_at), "edited_at": iso(d.edited_at), "last_activity_at": iso(d.last_activity_at),
            "closed_at": iso(d.closed_at), "pinned": d.pinned_at is not None, "comments_count": d.comments_count or 0,
            "url": url(f"/d/{d.id}")}


COMMENT = _obj({"id": {"type": "integer"}, "thread_id": {"type": "integer"}, "parent_id": MAYBE_INT,
                "author": PERSON, "body": {"type": "string"}, "created_at": TIME, "edited_at": MAYBE_TIME,
                "url": {"type": "string"}})


def comment(c) -> dict:
    return {"id": c.id, "thread_id": c.discussion_id, "parent_id": c.parent_id, "author": person(c.author),
            "body": c.body, "created_at": iso(c.created_at), "edited_at": iso(c.edited_at),
            "url": url(f"/d/{c.discussion_id}#c{c.id}")}


OPTION = _obj({"id": {"type": "integer"}, "name": {"type": "string"}, "starts_at": MAYBE_TIME,
               "duration_minutes": MAYBE_INT})
RESULTS = _obj({
    "visible": {"type": "boolean"}, "hidden_reason": {"type": "string"},
    "voter_count": {"type": "integer"}, "electorate_count": {"type": "integer"},
    "undecided_count": {"type": "integer"},
    "tally": {"type": ["object", "null"], "description": "The counts as the poll page shows them (null while hidden)."},
    "voters": {"type": "array", "items": _obj({"name": {"type": "string"}, "choice": {"type": "string"},
                                               "reason": {"type": ["string", "null"]}})},
    "anonymous_reasons": {"type": "array", "items": {"type": "string"}},
})
POLL = _obj({
    "id": {"type": "integer"}, "type": {"type": "string"}, "title": {"type": "string"}, "details": {"type": "string"},
    "group": {"type": "string"}, "thread_id": MAYBE_INT, "author": PERSON, "created_at": TIME, "closing_at": TIME,
    "closed_at": MAYBE_TIME, "draft": {"type": "boolean"}, "anonymous": {"type": "boolean"},
    "hide_results": {"type": "string"}, "voter_scope": {"type": "string"}, "reason_mode": {"type": "string"},
    "settings": {"type": "object"}, "options": {"type": "array", "items": OPTION},
    "can_vote": {"type": "boolean"}, "my_vote": {"type": ["object", "null"]},
    "results": RESULTS,
    "outcome": {"type": ["object", "null"]}, "url": {"type": "string"}})


def _plain(value):
    """Dataclasses (a tally) as JSON: dict keys as strings."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    return value


def poll(p, user, *, results, stance, outcome, kind) -> dict:
    tally = None
    if results.visible and results.results is not None:
        tally = _plain(results.results)
        if not policy.can_see_voters(user, p):  # written answers are anyone's to read, but not whose
            for answer in tally.get("answers", []):
                answer["participant_id"] = None
    mine = None
    if stance is not None:
        mine = {"choices": {str(c.poll_option_id): c.score for c in stance.stance_choices}, "reason": stance.reason,
                "created_at": iso(stance.created_at)}
    return {
        "id": p.id, "type": p.poll_type, "title": p.title, "details": p.details or "", "group": policy.poll_group(p).handle,
        "thread_id": p.discussion_id, "author": person(p.author), "created_at": iso(p.created_at),
        "closing_at": iso(p.closing_at), "closed_at": iso(p.closed_at), "draft": bool(p.draft),
        "anonymous": bool(p.anonymous), "hide_results": p.hide_results, "voter_scope": p.voter_scope,
        "reason_mode": p.reason_mode,
        "settings": {name: getattr(p, name) for name in kind.settings_fields},
        "options": [{"id": o.id, "name": o.name, "starts_at": iso(o.starts_at), "duration_minutes": o.duration_minutes}
                    for o in sorted(p.options, key=lambda o: (o.priority, o.id))],
        "can_vote": policy.can_vote(user, p),
        "my_vote": mine,
        "results": {"visible": results.visible, "hidden_reason": results.hidden_reason or "",
                    "voter_count": results.voter_count, "electorate_count": results.electorate_count,
                    "undecided_count": results.undecided_count, "tally": tally,
                    "voters": [{"name": v.name, "choice": v.choice, "reason": v.reason} for v in results.voters],
                    "anonymous_reasons": list(results.anonymous_reasons)},
        "outcome": None if outcome is None else {"statement": outcome.statement, "option_id": outcome.poll_option_id,
                                                 "author": person(outcome.author),
                                                 "created_at": iso(outcome.created_at)},
        "url": url(f"/p/{p.id}"),
    }


NOTIFICATION = _obj({"id": {"type": "integer"}, "kind": {"type": "string"}, "reason": {"type": "string"},
                     "actor": {"anyOf": [PERSON, {"type": "null"}]}, "created_at": TIME, "read": {"type": "boolean"},
                     "thread": {"anyOf": [_obj({"id": {"type": "integer"}, "title": {"type": "string"}}), {"type": "null"}]},
                     "poll": {"anyOf": [_obj({"id": {"type": "integer"}, "title": {"type": "string"}}), {"type": "null"}]},
                     "url": {"type": ["string", "null"]}})


def notification(item) -> dict:
    n, t, p = item["notification"], item["thread"], item["poll"]
    event = n.event
    link = f"/p/{p.id}" if p is not None else (f"/d/{t.id}" + (f"#c{event.comment_id}" if event.comment_id else "")
                                                 if t is not None else None)
    return {"id": n.id, "kind": event.kind, "reason": n.reason,
            "actor": person(event.actor) if event.actor_id is not None else None,
            "created_at": iso(n.created_at), "read": n.read_at is not None,
            "thread": {"id": t.id, "title": t.title} if t is not None else None,
            "poll": {"id": p.id, "title": p.title} if p is not None else None,
            "url": url(link) if link else None}


SEARCH_KINDS = {"discussion": "thread", "comment": "comment", "poll": "poll", "outcome": "outcome", "reason": "reason"}
SEARCH_HIT = _obj({"kind": {"type": "string", "enum": list(SEARCH_KINDS.values())}, "thread_id": MAYBE_INT,
                   "comment_id": MAYBE_INT, "poll_id": MAYBE_INT, "title": {"type": "string"},
                   "group": {"type": "string"}, "snippet": {"type": "string"},
                   "by": {"type": ["string", "null"], "description": "A vote reason's voter (anonymous polls' reasons are never found)."},
                   "url": {"type": "string"}})


def search_hit(hit) -> dict:
    """One search result as the page shows it: a thread, a comment, or a decision, its outcome or a vote reason."""
    d, poll = hit.discussion, hit.poll
    group = policy.poll_group(poll) if poll is not None else d.group
    return {"kind": SEARCH_KINDS[hit.kind], "thread_id": d.id if d is not None else None,
            "comment_id": hit.comment_id, "poll_id": poll.id if poll is not None else None,
            "title": poll.title if poll is not None else d.title, "group": group.handle,
            "snippet": hit.snippet.striptags(), "by": hit.author_name, "url": url(hit.url)}
