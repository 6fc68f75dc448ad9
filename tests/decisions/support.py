"""Shared set-up for the decisions tests: a group with members, a poll of any type, a valid vote."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.models import Poll, utcnow
from app.polls.base import ordered_options
from app.services import polls as service
from tests.factories import GroupFactory, member

NINE = ["proposal", "check", "count", "question", "poll", "dot_vote", "score", "ranked_choice", "meeting"]

OPTIONS = {
    "poll": ["Red", "Green", "Blue"],
    "dot_vote": ["Beans", "Peas", "Kale"],
    "score": ["North", "South", "East"],
    "ranked_choice": ["Apple", "Pear", "Plum"],
}


def slots(n: int = 3) -> list[datetime]:
    base = datetime(2031, 5, 5, 17, 0, tzinfo=timezone.utc)
    return [base + timedelta(days=i) for i in range(n)]


def setup_group(n_members: int = 3, **group_fields):
    """A group, its admin (who authors polls) and `n_members` members."""
    group = GroupFactory(**group_fields)
    admin = member(group, role="admin", name="Alice Admin")
    people = [member(group, name=f"Voter {chr(65 + i)}") for i in range(n_members)]
    return group, admin, people


def make_poll(poll_type: str, author, group, **settings) -> Poll:
    fields = dict(actor_id=author.id, group_id=group.id, poll_type=poll_type, title=f"A {poll_type} poll",
                  closing_at=utcnow() + timedelta(days=3))
    if poll_type in OPTIONS:
        fields["options"] = OPTIONS[poll_type]
    if poll_type == "meeting":
        fields["slots"] = slots()
        fields["duration_minutes"] = 60
    fields.update(settings)
    return service.create_poll(**fields)


def vote_for(poll: Poll, variant: int = 0) -> tuple[dict, str | None]:
    """A valid vote (choices, reason) of the poll's type; `variant` picks a different one."""
    ids = [o.id for o in ordered_options(poll)]
    t = poll.poll_type
    if t == "question":
        return {}, ["Saturdays work best", "Sunday mornings"][variant % 2]
    if t in ("proposal", "check", "count", "poll"):
        return {ids[variant % len(ids)]: 1}, None
    if t == "dot_vote":
        return ({ids[0]: 5, ids[1]: 3} if variant == 0 else {ids[2]: 8}), None
    if t == "score":
        return ({ids[0]: 9, ids[1]: 4, ids[2]: 0} if variant == 0 else {ids[0]: 1, ids[1]: 2, ids[2]: 3}), None
    if t == "ranked_choice":
        order = ids if variant == 0 else list(reversed(ids))
        return {o: len(ids) - i for i, o in enumerate(order)}, None
    if t == "meeting":
        return ({ids[0]: 2, ids[1]: 1, ids[2]: 0} if variant == 0 else {ids[0]: 0, ids[1]: 2, ids[2]: 2}), None
    raise AssertionError(t)


def vote_form(poll: Poll, variant: int = 0) -> dict:
    """The same vote as a browser form (JavaScript off)."""
    choices, reason = vote_for(poll, variant)
    t = poll.poll_type
    if t == "question":
        return {"answer": reason}
    form: dict = {}
    if t in ("proposal", "check", "count", "poll"):
        form["option"] = str(next(iter(choices)))
    elif t in ("dot_vote", "score"):
        form.update({f"score-{k}": str(v) for k, v in choices.items()})
    elif t == "ranked_choice":
        n = len(poll.options)
        form.update({f"rank-{k}": str(n - v + 1) for k, v in choices.items()})
    elif t == "meeting":
        form.update({f"slot-{k}": str(v) for k, v in choices.items()})
    return form
