"""What the poll use cases share: loading a member and a poll, times, an event's fields."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


from ... import policy
from ...extensions import db
from ...i18n import _, current_locale
from ...models import Poll, utcnow
from ..errors import Invalid, NotFound


MAX_DURATION = timedelta(days=365)
# A poll this close to its closing time is "closing soon": its notice goes out, digests and pages say so.
CLOSING_SOON = timedelta(hours=24)


def state_of(poll: Poll, now: datetime | None = None) -> str:
    """"draft", "closed", "closing" (within CLOSING_SOON of its closing time) or "open": a page's badge."""
    if poll.draft:
        return "draft"
    if poll.closed_at is not None:
        return "closed"
    return "closing" if aware(poll.closing_at) - aware(now_or(now)) <= CLOSING_SOON else "open"


def visible_poll(user, poll_id: int) -> Poll:
    """The poll, if this person (signed in or not) may read it; NotFound otherwise."""
    poll = db.session.get(Poll, poll_id)
    if poll is None or not policy.can_view_poll(user, poll):
        raise NotFound(_("There is no such poll."))
    return poll


def now_or(now: datetime | None) -> datetime:
    return now or utcnow()


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def check_closing(closing_at, now: datetime) -> datetime:
    if not isinstance(closing_at, datetime):
        raise Invalid(_("Please choose when the poll closes."), field="closing_at")
    closing_at = aware(closing_at)
    if closing_at <= now + timedelta(minutes=1):
        raise Invalid(_("The closing time must be in the future."), field="closing_at")
    if closing_at > now + MAX_DURATION:
        raise Invalid(_("A poll can stay open for at most a year."), field="closing_at")
    return closing_at


def in_sentence(label) -> str:
    """A poll type's or decision process's name inside a sentence: in lower case, as English writes it,
    except in German, where a noun keeps its capital."""
    text = str(label)
    return text if current_locale() == "de" else text.lower()


def event_fields(poll: Poll) -> dict:
    return {"group_id": poll.group_id, "discussion_id": poll.discussion_id, "poll_id": poll.id}
