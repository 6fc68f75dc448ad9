"""Running a poll, beyond votes: the per-poll settings (shuffled options, reason prompts, the
closing-soon notice's audience and time, a proposal's requirements to pass), reminding one person,
who took part (receipts), adding a standalone poll to a thread, an outcome's review date and its
reminder. The web's forms and the mail commands both call these.

Shuffled options: each viewer sees the options in an order of their own, stable across pages and
mails (sorted by a hash of poll, viewer and option, so adding an option moves no other). An option
keeps its own number everywhere (the mail shows "3. Pears" first if that is this reader's order),
so a reply's numbers mean the options the reader saw, whatever order they saw them in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ... import policy
from ...extensions import db
from ...i18n import _, number
from ...models.polls import CLOSING_SOON_AUDIENCES
from ...models import Discussion, Outcome, Participation, Poll, Stance, User
from ...models.users import name_of
from ...polls import get_type, thresholds
from ...text import one_line
from .. import events
from ..accounts import acting_member
from ..errors import Invalid, NotAllowed, NotFound
from .common import MAX_DURATION, aware, event_fields, now_or, visible_poll
from .reminders import MESSAGE_MAX, electorate_ids, non_voter_ids, recently_reminded

PROMPT_MAX = 300
MAX_NOTICE_HOURS = 24 * 7

RUNNING_DEFAULTS = dict(shuffle_options=False, reason_prompt=None, closing_soon_audience="undecided",
                        closing_soon_hours=24, quorum_percent=None, pass_percent=None, pass_without_blocks=False)
AUDIENCE_LABELS = {"nobody": "nobody", "author": "the poll's author", "undecided": "those who have not voted",
                   "everyone": "everyone who may vote"}


# --- settings -------------------------------------------------------------------------------------

def _prompt(value) -> str | None:
    text = one_line(value or "")
    if len(text) > PROMPT_MAX:
        raise Invalid(_("A reason prompt can be at most %(num)s characters.", num=PROMPT_MAX), field="reason_prompt")
    return text or None


def clean_running(poll_type: str, settings: dict) -> dict:
    """The running settings as kept, from `settings` (missing keys: the defaults); Invalid names the field."""
    kind = get_type(poll_type)
    values = {**RUNNING_DEFAULTS, **{k: v for k, v in settings.items() if k in RUNNING_DEFAULTS}}
    out = {"shuffle_options": bool(values["shuffle_options"]) and kind.takes_option_names,
           "reason_prompt": _prompt(values["reason_prompt"]),
           "pass_without_blocks": bool(values["pass_without_blocks"]) and kind.takes_thresholds}
    audience = values["closing_soon_audience"] or "undecided"
    if audience not in CLOSING_SOON_AUDIENCES:
        raise Invalid(_("Choose who gets the closing-soon notice."), field="closing_soon_audience")
    out["closing_soon_audience"] = audience
    hours = values["closing_soon_hours"]
    if hours is None:
        hours = 24
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= MAX_NOTICE_HOURS:
        raise Invalid(_("The closing-soon notice goes out between 1 and %(num)s hours before closing.", num=MAX_NOTICE_HOURS),
                      field="closing_soon_hours")
    out["closing_soon_hours"] = hours
    for name in ("quorum_percent", "pass_percent"):
        value = values[name] if kind.takes_thresholds else None
        out[name] = value or None
    problems = thresholds.check_settings(out)
    if problems:
        raise Invalid(" ".join(str(p) for p in problems), field="thresholds")
    return out


def clean_option_prompts(prompts: dict | None) -> dict:
    """Option name (or id) → prompt, each checked like the poll's own."""
    return {k: _prompt(v) for k, v in (prompts or {}).items()}


def apply_running(poll: Poll, running: dict, option_prompts: dict | None = None) -> list[str]:
    """Set the cleaned settings on `poll` (and prompts on its options, by id or by name); the changes in words."""
    changes = []
    for name, value in running.items():
        if getattr(poll, name) != value:
            changes.append(_describe(name, value))
            setattr(poll, name, value)
    for option in poll.options:
        if not option_prompts:
            break
        for ref in (option.id, str(option.id), option.name):
            if ref in option_prompts:
                value = option_prompts[ref]
                if (option.reason_prompt or None) != value:
                    changes.append(f"Reason prompt for “{option.name}”: " + (f"“{value}”" if value else "none"))
                    option.reason_prompt = value
                break
    return changes


def _describe(name: str, value) -> str:
    if name == "shuffle_options":
        return "Options are shown in a different order to each person" if value else "Options are shown in one order"
    if name == "reason_prompt":
        return f"Reason prompt: “{value}”" if value else "No reason prompt"
    if name == "closing_soon_audience":
        return f"Closing-soon notice goes to {AUDIENCE_LABELS[value]}"
    if name == "closing_soon_hours":
        return f"Closing-soon notice {value} hours before closing"
    if name == "quorum_percent":
        return f"Participation needed: {value}%" if value else "No participation quorum"
    if name == "pass_percent":
        return f"Agree needed: {value}% of votes cast" if value else "No share of agree needed"
    return "Passes only with no blocks" if value else "Blocks no longer stop it passing"


def update_running(*, actor_id: int, poll_id: int, settings: dict, option_prompts: dict | None = None,
                   now: datetime | None = None) -> Poll:
    """Change an open poll's (or a draft's) running settings; recorded in its history."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_edit_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can change it, and only while it is open."))
    current = {name: getattr(poll, name) for name in RUNNING_DEFAULTS}
    running = clean_running(poll.poll_type, {**current, **settings})
    changes = apply_running(poll, running, clean_option_prompts(option_prompts))
    if changes:
        if "closing_soon_hours" in running and aware(poll.closing_at) - now_or(now) > timedelta(hours=poll.closing_soon_hours):
            poll.closing_soon_sent_at = None  # the notice's time is ahead again
        events.record("poll_edited", actor_id=user.id, **event_fields(poll), title=poll.title,
                      changes={"settings": changes})
    db.session.commit()
    return poll


# --- reminding one person -------------------------------------------------------------------------

def find_undecided(poll: Poll, who: str) -> User:
    """The person `who` names (an email address, or a name as the group shows it) among those who may vote
    and have not; Invalid says why not."""
    text = " ".join((who or "").split()).strip()
    if not text:
        raise Invalid(_("Say whom to remind: a name or an email address."), field="person")
    electorate = electorate_ids(poll)
    people = list(db.session.scalars(select(User).where(User.id.in_(electorate), User.deleted_at.is_(None))))
    wanted = text.casefold()
    found = [u for u in people if (u.email or "").casefold() == wanted]
    if not found:
        found = [u for u in people if name_of(u).casefold() == wanted]
    if not found:
        found = [u for u in people if name_of(u).casefold().split()[:1] == [wanted]]  # "remind Alice"
    if not found:
        raise Invalid(_("Nobody called “%(name)s” may vote in this poll.", name=text[:80]), field="person")
    if len(found) > 1:
        raise Invalid(_("More than one person who may vote is called “%(name)s”: use their email address.", name=text[:80]),
                      field="person")
    person = found[0]
    if person.id not in set(non_voter_ids(poll)):
        raise Invalid(_("%(name)s has voted already.", name=name_of(person)), field="person")
    return person


def remind_person(*, actor_id: int, poll_id: int, person_id: int | None = None, who: str | None = None,
                  message: str = "", now: datetime | None = None, inbound_message_id: int | None = None) -> User:
    """Remind one person who has not voted (by id, or named by `who`); at most once a day per poll."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_remind(user, poll):
        if not policy.can_administer_poll(user, poll):
            raise NotAllowed(_("Only the poll's author or a group admin can send reminders."))
        raise NotAllowed(_("This poll is a draft: nobody can vote yet.") if poll.draft else
                         _("This poll is closed, so there is nobody to remind."))
    message = (message or "").replace("\r\n", "\n").strip()
    if len(message) > MESSAGE_MAX:
        raise Invalid(_("The message can be at most %(limit)s characters.", limit=number(MESSAGE_MAX)), field="message")
    if person_id is not None:
        person = db.session.get(User, person_id)
        if person is None or person.id not in set(non_voter_ids(poll)):
            raise Invalid(_("That person may not vote here, or has voted already."), field="person")
    else:
        person = find_undecided(poll, who or "")
    if person.id in recently_reminded(poll.id, now):
        raise Invalid(_("%(name)s was reminded about this poll in the last day; a person is reminded at most once a day.",
                        name=name_of(person)), field="person")
    events.record("poll_reminder", actor_id=user.id, **event_fields(poll), title=poll.title, message=message,
                  recipient_ids=[person.id], inbound_message_id=inbound_message_id)
    db.session.commit()
    return person


# --- receipts -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    name: str
    voted_at: datetime | None


def receipts(user, poll: Poll) -> list[Receipt]:
    """Who has taken part and when they last voted (never what): named polls, for those the policy lets see."""
    if not policy.can_see_receipts(user, poll):
        return []
    took_part = select(Participation.user_id).where(Participation.poll_id == poll.id)
    rows = db.session.execute(
        select(User, Stance.created_at).join(Stance, Stance.participant_id == User.id)
        .where(Stance.poll_id == poll.id, Stance.latest.is_(True), User.id.in_(took_part))
        .order_by(Stance.created_at, User.id)).all()
    return [Receipt(name_of(u), when) for u, when in rows]


# --- adding a standalone poll to a thread ---------------------------------------------------------

def threads_for(user, poll: Poll) -> list[Discussion]:
    """The threads this person may add this standalone poll to (most recent first)."""
    if poll.discussion_id is not None or not policy.can_administer_poll(user, poll):
        return []
    found = db.session.scalars(select(Discussion).where(Discussion.group_id == poll.group_id,
                                                        Discussion.deleted_at.is_(None), Discussion.closed_at.is_(None))
                               .order_by(Discussion.last_activity_at.desc()).limit(200))
    return [d for d in found if policy.can_add_poll_to_thread(user, poll, d)][:50]


def add_to_thread(*, actor_id: int, poll_id: int, discussion_id: int, now: datetime | None = None) -> Poll:
    """Put a standalone poll into a thread of its group: it shows there and follows the thread's privacy."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    discussion = db.session.get(Discussion, discussion_id)
    if discussion is None or not policy.can_view_discussion(user, discussion):
        raise Invalid(_("Please choose one of the group's threads."), field="discussion_id")
    if not policy.can_add_poll_to_thread(user, poll, discussion):
        if poll.discussion_id is not None:
            raise NotAllowed(_("This poll is in a thread already."))
        if not policy.can_administer_poll(user, poll):
            raise NotAllowed(_("Only the poll's author or a group admin can add it to a thread."))
        raise Invalid(_("That thread is closed or in another group; choose an open thread of this group."),
                      field="discussion_id")
    poll.discussion_id = discussion.id
    discussion.last_activity_at = now_or(now)
    events.record("poll_edited", actor_id=user.id, **event_fields(poll), title=poll.title,
                  changes={"settings": [f"Added to the thread “{discussion.title}”"]})
    db.session.commit()
    return poll


# --- an outcome's review date ---------------------------------------------------------------------

def check_review_at(review_at: datetime | None, now: datetime | None = None) -> datetime | None:
    if review_at is None:
        return None
    now = now_or(now)
    review_at = aware(review_at)
    if review_at <= now:
        raise Invalid(_("The review date must be in the future."), field="review_at")
    if review_at > now + 5 * MAX_DURATION:
        raise Invalid(_("The review date can be at most five years ahead."), field="review_at")
    return review_at


def set_review(*, actor_id: int, poll_id: int, review_at: datetime | None, now: datetime | None = None) -> Outcome:
    """Set (or clear) when the latest outcome is to be looked at again; its author is reminded then, once."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_write_outcome(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can set the outcome's review date."))
    outcome = db.session.scalar(select(Outcome).where(Outcome.poll_id == poll.id, Outcome.latest.is_(True)))
    if outcome is None:
        raise NotFound(_("This poll has no outcome yet."))
    outcome.review_at = check_review_at(review_at, now)
    outcome.review_sent_at = None
    db.session.commit()
    return outcome


def send_outcome_reviews(*, now: datetime | None = None) -> int:
    """Remind each outcome's author on its review date, once (a conditional update claims it)."""
    now = now_or(now)
    due = list(db.session.scalars(select(Outcome.id).where(Outcome.latest.is_(True), Outcome.review_at.is_not(None),
                                                           Outcome.review_at <= now, Outcome.review_sent_at.is_(None))))
    db.session.rollback()
    sent = 0
    for outcome_id in due:
        won = db.session.execute(update(Outcome).where(Outcome.id == outcome_id, Outcome.review_sent_at.is_(None))
                                 .values(review_sent_at=now).execution_options(synchronize_session=False)).rowcount
        if won != 1:
            db.session.rollback()
            continue
        outcome = db.session.get(Outcome, outcome_id)
        db.session.refresh(outcome)
        poll = db.session.get(Poll, outcome.poll_id)
        author_id = poll.author_id or outcome.author_id
        if poll.deleted_at is not None or author_id is None:
            db.session.commit()
            continue
        events.record("outcome_review_due", actor_id=None, **event_fields(poll), title=poll.title,
                      outcome_id=outcome.id, recipient_ids=[author_id], statement=outcome.statement, review_at=aware(outcome.review_at).isoformat())
        db.session.commit()
        sent += 1
    return sent


# --- the closing-soon notice ----------------------------------------------------------------------

def closing_soon_recipients(poll: Poll) -> list[int]:
    """Who the poll's closing-soon notice goes to, by its audience setting."""
    audience = poll.closing_soon_audience or "undecided"
    if audience == "nobody":
        return []
    if audience == "author":
        return [poll.author_id] if poll.author_id else []
    if audience == "everyone":
        return electorate_ids(poll)
    return non_voter_ids(poll)
