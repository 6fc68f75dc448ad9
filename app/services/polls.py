"""Decisions: create a poll, vote, change a vote, close, reopen, remind, write an outcome.

Anonymous polls: while open a stance keeps its participant so the voter can see their own
vote; at closing every stance is unlinked (from the voter and from the inbound mail it came
from), re-inserted in random order without timestamps,
and superseded stances are dropped, so no row, id order or time links a voter to a choice.
The event log never names the voter of an anonymous poll (stance_created has no actor).
"""
from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from .. import policy
from ..extensions import db
from ..models import (
    Discussion, Group, Membership, Outcome, Participation, Poll, PollOption, PollVoter, Stance,
    StanceChoice, User, utcnow,
)
from ..polls import Results, VoteError, get_type
from ..polls.base import ordered_options
from . import events
from .errors import Invalid, NotAllowed, NotFound

TITLE_MAX = 200
DETAILS_MAX = 20_000
OPTION_MAX = 200
MAX_OPTIONS = 50
MAX_NAMED_VOTERS = 500
REASON_CAP = 5_000
MESSAGE_MAX = 2_000
CLOSING_SOON = timedelta(hours=24)
MAX_DURATION = timedelta(days=365)
SOURCES = ("web", "email", "link")


# --- helpers ----------------------------------------------------------------------

def _user(user_id: int) -> User:
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or user.deleted_at is not None:
        raise NotAllowed("Please sign in first.")
    return user


def _poll(poll_id: int, user: User | None = None) -> Poll:
    poll = db.session.get(Poll, poll_id) if poll_id is not None else None
    if poll is None or poll.deleted_at is not None or (user is not None and not policy.can_view_poll(user, poll)):
        raise NotFound("There is no such poll.")
    return poll


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _when(value: datetime) -> str:
    return _aware(value).astimezone(timezone.utc).strftime("%-d %b %Y, %H:%M UTC")


def _check_closing(closing_at, now: datetime) -> datetime:
    if not isinstance(closing_at, datetime):
        raise Invalid("Please choose when the poll closes.", field="closing_at")
    closing_at = _aware(closing_at)
    if closing_at <= now + timedelta(minutes=1):
        raise Invalid("The closing time must be in the future.", field="closing_at")
    if closing_at > now + MAX_DURATION:
        raise Invalid("A poll can stay open for at most a year.", field="closing_at")
    return closing_at


def _event_base(poll: Poll) -> dict:
    return {"group_id": poll.group_id, "discussion_id": poll.discussion_id, "poll_id": poll.id}


# --- creating -----------------------------------------------------------------------

def create_poll(
    *, actor_id: int, poll_type: str, title: str, closing_at: datetime, group_id: int | None = None,
    discussion_id: int | None = None, details: str = "", options: list[str] | None = None,
    slots: list[datetime] | None = None, duration_minutes: int | None = None, time_zone: str = "UTC",
    anonymous: bool = False, hide_results: str = "off", voter_scope: str = "group",
    voters: list[str] | None = None, reason_mode: str | None = None, reason_max_length: int | None = None,
    min_choices: int | None = None, max_choices: int | None = None, dots_per_person: int | None = None,
    min_score: int | None = None, max_score: int | None = None, minimum_rank: int | None = None,
    target: int | None = None, allow_none_of_the_above: bool = False, source: str = "web",
    now: datetime | None = None, inbound_message_id: int | None = None,
) -> Poll:
    """Start a decision in a thread (`discussion_id`) or standing alone in a group (`group_id`)."""
    user = _user(actor_id)
    now = _now(now)
    discussion = None
    if discussion_id is not None:
        discussion = db.session.get(Discussion, discussion_id)
        if discussion is None or not policy.can_view_discussion(user, discussion):
            raise NotFound("There is no such thread.")
        if discussion.closed_at is not None:
            raise NotAllowed("This thread is closed, so no new polls can start in it.")
        group = discussion.group
    else:
        group = db.session.get(Group, group_id) if group_id is not None else None
        if group is None or not policy.can_see_group(user, group):
            raise NotFound("There is no such group.")
    if not policy.can_create_poll(user, group):
        if not policy.is_member(user, group):
            raise NotAllowed("Only members of this group can start polls here.")
        raise NotAllowed("Only this group's admins can start polls here.")
    try:
        kind = get_type(poll_type)
    except KeyError:
        raise Invalid("Please choose one of the poll types.", field="poll_type") from None

    title = " ".join((title or "").split())
    if not title:
        raise Invalid("Please give the poll a title.", field="title")
    if len(title) > TITLE_MAX:
        raise Invalid(f"Titles can be at most {TITLE_MAX} characters.", field="title")
    details = (details or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if len(details) > DETAILS_MAX:
        raise Invalid(f"The details can be at most {DETAILS_MAX:,} characters.", field="details")
    closing_at = _check_closing(closing_at, now)
    if hide_results not in ("off", "until_vote", "until_closed"):
        raise Invalid("Choose when results are shown.", field="hide_results")
    if voter_scope not in ("group", "specified"):
        raise Invalid("Choose who may vote.", field="voter_scope")
    if reason_mode is None:
        reason_mode = kind.default_reason_mode
    if reason_max_length is None:
        reason_max_length = 2000
    if not isinstance(reason_max_length, int) or not 1 <= reason_max_length <= REASON_CAP:
        raise Invalid(f"The reason length limit must be between 1 and {REASON_CAP:,}.", field="reason_max_length")

    slot_rows: list[tuple[str, datetime]] = []
    if kind.options_are_slots:
        if options:
            raise Invalid("A meeting poll's options are time slots.", field="slots")
        seen = set()
        for slot in slots or []:
            if not isinstance(slot, datetime):
                raise Invalid("Each time slot needs a date and time.", field="slots")
            slot = _aware(slot).astimezone(timezone.utc)
            if slot in seen:
                raise Invalid("Two time slots are the same.", field="slots")
            seen.add(slot)
            slot_rows.append((slot.strftime("%Y-%m-%d %H:%M UTC"), slot))
        slot_rows.sort(key=lambda r: r[1])
        if not slot_rows:
            raise Invalid("Please give at least one time slot.", field="slots")
        if duration_minutes is not None and (not isinstance(duration_minutes, int) or not 1 <= duration_minutes <= 24 * 60):
            raise Invalid("The meeting length must be between 1 minute and 24 hours.", field="duration_minutes")
        names = [r[0] for r in slot_rows]
    elif kind.fixed_options:
        names = kind.default_options()
    else:
        names = [" ".join(str(o).split()) for o in (options or []) if str(o).strip()]
    if len(names) > MAX_OPTIONS:
        raise Invalid(f"A poll can have at most {MAX_OPTIONS} options.", field="options")
    if any(len(n) > OPTION_MAX for n in names):
        raise Invalid(f"Options can be at most {OPTION_MAX} characters.", field="options")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(time_zone or "UTC")
    except Exception:
        raise Invalid("Please choose a known time zone.", field="time_zone") from None

    settings = dict(
        options=names, reason_mode=reason_mode, reason_max_length=reason_max_length, min_choices=min_choices,
        max_choices=max_choices, dots_per_person=dots_per_person, min_score=min_score, max_score=max_score,
        minimum_rank=minimum_rank, target=target,
    )
    settings = {k: v for k, v in settings.items() if v is not None}
    problems = kind.validate_settings(settings)
    if problems:
        raise Invalid(" ".join(problems), field=kind.options_field if any("option" in p.lower() for p in problems) else "settings")

    named: list[tuple[str, User]] = []
    if voter_scope == "specified":
        from .accounts import create_user, normalise_email, user_by_email

        emails = []
        for raw in voters or []:
            raw = raw.strip()
            if not raw:
                continue
            try:
                emails.append(normalise_email(raw))
            except Invalid:
                raise Invalid(f"“{raw[:80]}” is not an email address.", field="voters") from None
        emails = list(dict.fromkeys(emails))
        if not emails:
            raise Invalid("Name at least one person who may vote, by email address.", field="voters")
        if len(emails) > MAX_NAMED_VOTERS:
            raise Invalid(f"At most {MAX_NAMED_VOTERS} named voters.", field="voters")
        for email in emails:
            # A guest gets an unverified account, so they can vote by link or sign in later.
            person = user_by_email(email) or create_user(email=email, verified=False)
            named.append((email, person))

    given = dict(min_choices=min_choices, max_choices=max_choices, dots_per_person=dots_per_person,
                 min_score=min_score, max_score=max_score, minimum_rank=minimum_rank, target=target,
                 allow_none_of_the_above=bool(allow_none_of_the_above))
    # Only the type's own settings are kept; an empty one takes the type's default.
    own = {**kind.setting_defaults(), **{name: given[name] for name in kind.settings_fields if given[name] is not None}}
    poll = Poll(
        group_id=group.id, discussion_id=discussion.id if discussion else None, author_id=user.id,
        poll_type=kind.name, title=title, details=details, closing_at=closing_at, created_at=now,
        anonymous=bool(anonymous), hide_results=hide_results, voter_scope=voter_scope, reason_mode=reason_mode,
        reason_max_length=reason_max_length, time_zone=time_zone or "UTC", inbound_message_id=inbound_message_id,
        **own,
    )
    db.session.add(poll)
    db.session.flush()
    if kind.options_are_slots:
        for i, (name, starts) in enumerate(slot_rows):
            db.session.add(PollOption(poll_id=poll.id, name=name, priority=i, starts_at=starts,
                                      duration_minutes=duration_minutes))
    else:
        for i, name in enumerate(names):
            db.session.add(PollOption(poll_id=poll.id, name=name, priority=i))
    for email, person in named:
        db.session.add(PollVoter(poll_id=poll.id, user_id=person.id, email=email))
    if discussion is not None:
        from .discussions import participate

        discussion.last_activity_at = now
        participate(user.id, discussion)
    events.record(
        "poll_created", actor_id=user.id, **_event_base(poll), poll_type=poll.poll_type, title=poll.title,
        closing_at=closing_at.isoformat(), anonymous=poll.anonymous, voter_scope=voter_scope,
        named_voter_ids=[p.id for _, p in named], guest_voter_ids=[p.id for _, p in named if p.email_verified_at is None],
        source=source,
    )
    db.session.commit()
    return poll


# --- voting ---------------------------------------------------------------------------

def current_stance(user_id: int | None, poll_id: int) -> Stance | None:
    """This person's current vote (only findable while it still carries their id)."""
    if user_id is None:
        return None
    return db.session.scalar(
        select(Stance).where(Stance.poll_id == poll_id, Stance.participant_id == user_id, Stance.latest.is_(True))
    )


def vote_history(user_id: int | None, poll_id: int) -> list[Stance]:
    """Earlier (superseded) votes of this person, newest first."""
    if user_id is None:
        return []
    return list(db.session.scalars(
        select(Stance).where(Stance.poll_id == poll_id, Stance.participant_id == user_id, Stance.latest.is_(False))
        .order_by(Stance.id.desc())
    ))


def cast_vote(
    *, actor_id: int, poll_id: int, choices: dict | None = None, text: str | None = None,
    reason: str | None = None, source: str = "web", now: datetime | None = None,
    inbound_message_id: int | None = None,
) -> Stance:
    """Vote (or change a vote). `choices` maps option id → score; or `text` is a vote in the reply grammar."""
    user = _user(actor_id)
    poll = _poll(poll_id, user)
    if not poll.is_open:
        raise NotAllowed(f"This poll closed on {_when(poll.closed_at)}; votes are no longer taken.")
    if not policy.may_vote(user, poll):
        raise NotAllowed("You are not one of the people invited to vote in this poll.")
    kind = get_type(poll.poll_type)
    try:
        if text is not None:
            parsed = kind.parse_vote_text(poll, text)
            clean, reason = parsed.choices, parsed.reason
        else:
            clean = kind.validate(poll, choices or {}, reason)
            reason = kind.clean_reason(poll, reason)
    except VoteError as error:
        raise Invalid(error.message, field="vote") from None
    now = _now(now)
    previous = current_stance(user.id, poll.id)
    if previous is not None:
        previous.latest = False
    stance = Stance(poll_id=poll.id, participant_id=user.id, reason=reason, latest=True,
                    created_at=now, source=source if source in SOURCES else "web",
                    inbound_message_id=inbound_message_id)
    stance.stance_choices = [StanceChoice(poll_option_id=int(k), score=int(v)) for k, v in clean.items()]
    db.session.add(stance)
    if not policy.has_voted(user, poll):
        db.session.add(Participation(poll_id=poll.id, user_id=user.id))
    db.session.flush()
    if poll.discussion_id:
        from .discussions import participate

        participate(user.id, poll.discussion, read=False)
    if poll.anonymous:
        # No actor, no stance id, no choices: the log must not say who chose what.
        events.record("stance_created", actor_id=None, **_event_base(poll), anonymous=True)
    else:
        events.record(
            "stance_created", actor_id=user.id, **_event_base(poll), stance_id=stance.id,
            changed=previous is not None, choice=kind.describe_choices(poll, clean),
            source=stance.source,
        )
    db.session.commit()
    return stance


# --- closing ---------------------------------------------------------------------------

def _scrub_anonymous(poll: Poll) -> list[int]:
    """Unlink every stance of an anonymous poll from its voter (see the module docstring).

    Returns the stored emails votes came from: they name their sender, so the caller deletes them.
    """
    stances = list(db.session.scalars(select(Stance).where(Stance.poll_id == poll.id)))
    emailed = sorted({s.inbound_message_id for s in stances if s.inbound_message_id is not None})
    kept = [(s.reason, s.choices) for s in stances if s.latest]
    for s in stances:
        db.session.delete(s)
    db.session.flush()
    random.SystemRandom().shuffle(kept)
    for reason, choices in kept:
        # The source could single out an email voter, so every anonymous stance reads "web"; the
        # inbound message it came from names its sender, so none is kept.
        stance = Stance(poll_id=poll.id, participant_id=None, reason=reason, latest=True, created_at=None,
                        source="web", inbound_message_id=None)
        stance.stance_choices = [StanceChoice(poll_option_id=k, score=v) for k, v in choices.items()]
        db.session.add(stance)
    db.session.flush()
    # The column default would stamp the insert time; an explicit NULL keeps no time at all.
    db.session.execute(update(Stance).where(Stance.poll_id == poll.id).values(created_at=None, inbound_message_id=None)
                       .execution_options(synchronize_session="fetch"))
    return emailed


def _close(poll_id: int, *, actor_id: int | None, now: datetime, reason: str) -> bool:
    """Close once: the conditional update lets exactly one caller (job or person) win."""
    won = db.session.execute(
        update(Poll).where(Poll.id == poll_id, Poll.closed_at.is_(None), Poll.deleted_at.is_(None))
        .values(closed_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        return False
    poll = db.session.get(Poll, poll_id)
    db.session.refresh(poll)
    emailed_votes = _scrub_anonymous(poll) if poll.anonymous else []
    voters = db.session.scalar(select(func.count(Participation.id)).where(Participation.poll_id == poll.id)) or 0
    events.record("poll_closed", actor_id=actor_id, **_event_base(poll), closed_by=reason,
                          voter_count=voters, title=poll.title)
    db.session.commit()
    if emailed_votes:
        from .inbound import delete_messages

        delete_messages(emailed_votes)
    return True


def close_poll(*, actor_id: int, poll_id: int, now: datetime | None = None) -> Poll:
    """Close early (the author or a group admin)."""
    user = _user(actor_id)
    poll = _poll(poll_id, user)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed("Only the poll's author or a group admin can close it.")
    if poll.closed_at is not None:
        raise NotAllowed("This poll is already closed.")
    _close(poll.id, actor_id=user.id, now=_now(now), reason="person")
    return db.session.get(Poll, poll_id)


def close_due_polls(*, now: datetime | None = None) -> int:
    """Close every open poll whose closing time has passed; safe to run twice at once."""
    now = _now(now)
    due = list(db.session.scalars(
        select(Poll.id).where(Poll.closed_at.is_(None), Poll.deleted_at.is_(None), Poll.closing_at <= now)
        .order_by(Poll.closing_at)
    ))
    db.session.rollback()  # end the read transaction before the per-poll writes
    return sum(_close(poll_id, actor_id=None, now=now, reason="schedule") for poll_id in due)


def send_closing_soon(*, now: datetime | None = None) -> int:
    """Record `poll_closing_soon` once per poll when it is within 24 hours of closing."""
    now = _now(now)
    due = list(db.session.scalars(
        select(Poll.id).where(
            Poll.closed_at.is_(None), Poll.deleted_at.is_(None), Poll.closing_soon_sent_at.is_(None),
            Poll.closing_at > now, Poll.closing_at <= now + CLOSING_SOON,
        )
    ))
    db.session.rollback()
    sent = 0
    for poll_id in due:
        won = db.session.execute(
            update(Poll).where(Poll.id == poll_id, Poll.closing_soon_sent_at.is_(None), Poll.closed_at.is_(None))
            .values(closing_soon_sent_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            db.session.rollback()
            continue
        poll = db.session.get(Poll, poll_id)
        db.session.refresh(poll)
        if poll.created_at and poll.closing_at - poll.created_at <= CLOSING_SOON:
            db.session.commit()  # a poll shorter than a day gets no "closing soon" notice
            continue
        events.record("poll_closing_soon", actor_id=None, **_event_base(poll), title=poll.title,
                              closing_at=poll.closing_at.isoformat(), non_voter_ids=non_voter_ids(poll))
        db.session.commit()
        sent += 1
    return sent


def reopen_poll(*, actor_id: int, poll_id: int, closing_at: datetime, now: datetime | None = None) -> Poll:
    """Reopen a closed poll with a new closing time (never an anonymous one)."""
    user = _user(actor_id)
    poll = _poll(poll_id, user)
    if poll.closed_at is None:
        raise NotAllowed("This poll is still open.")
    if poll.anonymous:
        raise NotAllowed("Anonymous polls can't be reopened: their votes were unlinked from voters at closing.")
    if not policy.can_reopen_poll(user, poll):
        raise NotAllowed("Only the poll's author or a group admin can reopen it.")
    now = _now(now)
    poll.closing_at = _check_closing(closing_at, now)
    poll.closed_at = None
    poll.closing_soon_sent_at = None
    events.record("poll_reopened", actor_id=user.id, **_event_base(poll), title=poll.title,
                          closing_at=poll.closing_at.isoformat())
    db.session.commit()
    return poll


# --- who has voted -----------------------------------------------------------------------

def electorate_ids(poll: Poll) -> list[int]:
    """Everyone who may vote now: the group's members (if the whole group) and the named people."""
    ids = set(db.session.scalars(select(PollVoter.user_id).where(PollVoter.poll_id == poll.id,
                                                                  PollVoter.user_id.is_not(None))))
    if poll.voter_scope == "group":
        ids |= set(db.session.scalars(select(Membership.user_id).where(Membership.group_id == poll.group_id)))
    return sorted(ids)


def non_voter_ids(poll: Poll) -> list[int]:
    voted = set(db.session.scalars(select(Participation.user_id).where(Participation.poll_id == poll.id)))
    return [i for i in electorate_ids(poll) if i not in voted]


def remind(*, actor_id: int, poll_id: int, message: str = "") -> int:
    """Remind those who have not voted yet, with a message; returns how many."""
    user = _user(actor_id)
    poll = _poll(poll_id, user)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed("Only the poll's author or a group admin can send reminders.")
    if not poll.is_open:
        raise NotAllowed("This poll is closed, so there is nobody to remind.")
    message = (message or "").replace("\r\n", "\n").strip()
    if len(message) > MESSAGE_MAX:
        raise Invalid(f"The message can be at most {MESSAGE_MAX:,} characters.", field="message")
    recipients = non_voter_ids(poll)
    if not recipients:
        raise Invalid("Everyone has voted already.", field="message")
    events.record("poll_reminder", actor_id=user.id, **_event_base(poll), title=poll.title,
                          message=message, recipient_ids=recipients)
    db.session.commit()
    return len(recipients)


# --- after closing ---------------------------------------------------------------------------

def latest_outcome(poll_id: int) -> Outcome | None:
    return db.session.scalar(select(Outcome).where(Outcome.poll_id == poll_id, Outcome.latest.is_(True)))


def set_outcome(*, actor_id: int, poll_id: int, statement: str, option_id: int | None = None) -> Outcome:
    """State what was decided (meeting polls: the chosen slot). A new outcome replaces the last."""
    user = _user(actor_id)
    poll = _poll(poll_id, user)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed("Only the poll's author or a group admin can write the outcome.")
    if poll.closed_at is None:
        raise NotAllowed("The outcome is written once the poll has closed.")
    statement = (statement or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if not statement:
        raise Invalid("Please write what was decided.", field="statement")
    if len(statement) > DETAILS_MAX:
        raise Invalid(f"The outcome can be at most {DETAILS_MAX:,} characters.", field="statement")
    option = None
    if option_id is not None:
        option = db.session.get(PollOption, option_id)
        if option is None or option.poll_id != poll.id:
            raise Invalid("Please choose one of this poll's options.", field="option_id")
    if get_type(poll.poll_type).outcome_names_option and option is None:
        raise Invalid("Please choose the time slot you settled on.", field="option_id")
    db.session.execute(update(Outcome).where(Outcome.poll_id == poll.id).values(latest=False)
                       .execution_options(synchronize_session=False))
    outcome = Outcome(poll_id=poll.id, author_id=user.id, statement=statement,
                      poll_option_id=option.id if option else None, latest=True)
    db.session.add(outcome)
    db.session.flush()
    data = {"outcome_id": outcome.id, "title": poll.title, "option_id": option.id if option else None}
    if option is not None and option.starts_at is not None:
        data.update(starts_at=option.starts_at.isoformat(), duration_minutes=option.duration_minutes or 60,
                    ics_path=f"/p/{poll.id}/outcome.ics")
    events.record("outcome_created", actor_id=user.id, **_event_base(poll), **data)
    db.session.commit()
    return outcome


def delete_poll(*, actor_id: int, poll_id: int, now: datetime | None = None) -> None:
    """Soft delete: the poll disappears everywhere; its rows stay for the group export."""
    user = _user(actor_id)
    poll = _poll(poll_id, user)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed("Only the poll's author or a group admin can delete it.")
    poll.deleted_at = _now(now)
    events.record("poll_deleted", actor_id=user.id, **_event_base(poll), title=poll.title)
    db.session.commit()


def outcome_ics(poll: Poll, outcome: Outcome) -> str:
    """An iCalendar invitation for a meeting poll's chosen slot."""
    option = db.session.get(PollOption, outcome.poll_option_id) if outcome.poll_option_id else None
    if option is None or option.starts_at is None:
        raise NotFound("This outcome has no chosen time.")
    from flask import current_app

    start = option.starts_at.astimezone(timezone.utc)
    end = start + timedelta(minutes=option.duration_minutes or 60)
    stamp = (outcome.created_at or utcnow()).astimezone(timezone.utc)

    def fmt(d: datetime) -> str:
        return d.strftime("%Y%m%dT%H%M%SZ")

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r", "").replace("\n", "\\n")

    def fold(line: str) -> list[str]:
        out, raw = [], line.encode()
        while len(raw) > 73:
            cut = 73
            while (raw[cut] & 0xC0) == 0x80:  # never split a UTF-8 sequence
                cut -= 1
            out.append(raw[:cut].decode())
            raw = raw[cut:]
        out.append(raw.decode())
        return [out[0]] + [" " + part for part in out[1:]]

    domain = current_app.config.get("MAIL_DOMAIN", "quorum.invalid")
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Quorum//Decisions//EN", "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:poll-{poll.id}-outcome@{domain}", f"DTSTAMP:{fmt(stamp)}", f"DTSTART:{fmt(start)}", f"DTEND:{fmt(end)}",
        f"SUMMARY:{esc(poll.title)}", f"DESCRIPTION:{esc(outcome.statement)}", f"URL:{base}/p/{poll.id}",
        f"SEQUENCE:{outcome.id}", "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(part for line in lines for part in fold(line)) + "\r\n"


# --- results ---------------------------------------------------------------------------------

@dataclass
class VoterRow:
    name: str
    choice: str
    reason: str | None
    choices: dict = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass
class PollResults:
    """What one person may see of a poll's results."""

    visible: bool
    hidden_reason: str = ""
    results: Results | None = None
    voters: list[VoterRow] = field(default_factory=list)  # who chose what (never for anonymous polls)
    anonymous_reasons: list[str] = field(default_factory=list)
    non_voters: list[User] = field(default_factory=list)  # poll admins only
    undecided_count: int = 0
    electorate_count: int = 0
    voter_count: int = 0


def hidden_reason(poll: Poll) -> str:
    if poll.hide_results == "until_vote":
        return "Results are hidden until you vote."
    return "Results are hidden until the poll closes."


def results_for(user, poll: Poll) -> PollResults:
    """The results this person may see; hidden results stay hidden in every output."""
    electorate = electorate_ids(poll)
    voted_ids = set(db.session.scalars(select(Participation.user_id).where(Participation.poll_id == poll.id)))
    voter_count = len(voted_ids)
    undecided = len([i for i in electorate if i not in voted_ids])
    out = PollResults(visible=policy.can_see_results(user, poll), electorate_count=len(electorate),
                      undecided_count=undecided, voter_count=voter_count)
    if policy.can_administer_poll(user, poll):
        missing = [i for i in electorate if i not in voted_ids]
        if missing:
            out.non_voters = list(db.session.scalars(select(User).where(User.id.in_(missing)).order_by(User.name)))
    if not out.visible:
        out.hidden_reason = hidden_reason(poll)
        return out
    kind = get_type(poll.poll_type)
    stances = list(db.session.scalars(
        select(Stance).where(Stance.poll_id == poll.id, Stance.latest.is_(True)).order_by(Stance.id)
    ))
    by_stance = {}
    for c in db.session.scalars(select(StanceChoice).join(Stance).where(Stance.poll_id == poll.id,
                                                                         Stance.latest.is_(True))):
        by_stance.setdefault(c.stance_id, {})[c.poll_option_id] = c.score
    plain = [_PlainStance(by_stance.get(s.id, {}), s.reason, None if poll.anonymous else s.participant_id)
             for s in stances]
    if poll.anonymous:
        plain.sort(key=lambda s: (s.reason or "", sorted(s.choices.items())))  # no order to read anything from
    out.results = kind.tally(poll, plain)
    if poll.anonymous:
        out.anonymous_reasons = [s.reason for s in plain if s.reason and not kind.written_answers]
    elif policy.can_see_voters(user, poll):
        people = {u.id: u for u in db.session.scalars(
            select(User).where(User.id.in_({s.participant_id for s in stances if s.participant_id})))}
        for s in stances:
            who = people.get(s.participant_id)
            choices = by_stance.get(s.id, {})
            out.voters.append(VoterRow(
                name=who.display_name if who else "deleted member",
                choice=(s.reason or "") if kind.written_answers else kind.describe_choices(poll, choices),
                reason=s.reason, choices=choices, created_at=s.created_at,
            ))
    return out


@dataclass
class _PlainStance:
    choices: dict
    reason: str | None
    participant_id: int | None


def csv_export(user, poll: Poll) -> str:
    """The results as CSV: a summary per option, then one row per vote (no names if anonymous)."""
    if not policy.can_view_poll(user, poll):
        raise NotFound("There is no such poll.")
    view = results_for(user, poll)
    if not view.visible:
        raise NotAllowed(view.hidden_reason)
    options = ordered_options(poll)
    buffer = io.StringIO()
    w = csv.writer(buffer)
    w.writerow(["poll", poll.title])
    kind = get_type(poll.poll_type)
    w.writerow(["type", kind.label])
    w.writerow(["status", "closed" if poll.closed_at else "open"])
    w.writerow(["voters", view.voter_count])
    w.writerow(["undecided", view.undecided_count])
    w.writerow([])
    r = view.results
    if not kind.written_answers:
        w.writerow(["option", "voters", "score_total", "percent", "average", "yes", "maybe", "no"])
        for row in r.options:
            w.writerow([_cell(row.name), row.voter_count, row.score_total, f"{row.percent:.1f}",
                        "" if row.average is None else f"{row.average:.2f}", row.yes, row.maybe, row.no])
        w.writerow([])
    option_names = [_cell(o.name) for o in options]
    if poll.anonymous:
        w.writerow(["vote"] + option_names + ["reason"])
        if kind.written_answers:
            for n, text in enumerate(sorted(a.text for a in r.answers), 1):
                w.writerow([n, _cell(text)])
        else:
            stances = list(db.session.scalars(select(Stance).where(Stance.poll_id == poll.id, Stance.latest.is_(True))))
            rows = sorted(([str(s.choices.get(o.id, "")) for o in options], s.reason or "") for s in stances)
            for n, (scores, reason) in enumerate(rows, 1):
                w.writerow([n] + scores + [_cell(reason)])
    elif policy.can_see_voters(user, poll):
        w.writerow(["voter", "voted_at"] + option_names + ["reason"])
        for v in view.voters:
            w.writerow([_cell(v.name), v.created_at.isoformat() if v.created_at else ""]
                       + [v.choices.get(o.id, "") for o in options] + [_cell(v.reason or "")])
    return buffer.getvalue()


def _cell(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula."""
    value = str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# --- pages --------------------------------------------------------------------------------

def polls_for_thread(discussion_id: int) -> list[Poll]:
    """The thread's polls (not deleted), newest first, in one query."""
    return list(db.session.scalars(
        select(Poll).where(Poll.discussion_id == discussion_id, Poll.deleted_at.is_(None)).order_by(Poll.id.desc())
    ))


def thread_page_polls(discussion, user) -> dict:
    """The thread page's extension (discussions.THREAD_PAGE_EXTENSIONS): its polls, one query."""
    return {"thread_polls": polls_for_thread(discussion.id)}


def polls_for_group(group_id: int, *, standalone_only: bool = False) -> list[Poll]:
    q = select(Poll).where(Poll.group_id == group_id, Poll.deleted_at.is_(None))
    if standalone_only:
        q = q.where(Poll.discussion_id.is_(None))
    return list(db.session.scalars(q.order_by(Poll.closed_at.is_not(None), Poll.closing_at)))


def one_click_choices(poll: Poll, option_id: int) -> dict[int, int]:
    """The vote a one-click link casts: that one option (types whose vote is one option)."""
    if not get_type(poll.poll_type).one_click(poll):
        raise Invalid("This kind of poll can't be answered in one click; please vote on the poll page.")
    if option_id not in {o.id for o in poll.options}:
        raise Invalid("That link names an option this poll doesn't have.")
    return {option_id: 1}


# --- demo -----------------------------------------------------------------------------------

def seed_demo_polls(made: dict, members_of: dict, rng: random.Random) -> None:
    """Open and closed decisions of several types in the demo groups."""
    if db.session.scalar(select(func.count(Poll.id))):
        return
    now = utcnow()
    riverside, garden, foodshare = made["riverside"], made["garden"], made["foodshare"]
    roof = db.session.scalar(select(Discussion).where(Discussion.title == "Roof repairs on block B"))
    quiet = db.session.scalar(select(Discussion).where(Discussion.title == "Quiet hours after 10pm?"))
    people = members_of["riverside"]
    admin = people[0]

    def vote_all(poll, voters, pick, reasons=()):
        for person in voters:
            try:
                cast_vote(actor_id=person.id, poll_id=poll.id, choices=pick(poll),
                          reason=rng.choice(reasons) if reasons and rng.random() < 0.5 else None)
            except Exception:  # a demo vote that does not fit is simply skipped
                db.session.rollback()

    opts = lambda p: [o.id for o in ordered_options(p)]  # noqa: E731
    proposal = create_poll(
        actor_id=admin.id, discussion_id=roof.id if roof else None, group_id=riverside.id, poll_type="proposal",
        title="Accept the second roofing quote (£38,400)",
        details="Ten-year guarantee, scaffolding included. Work starts in September.",
        closing_at=now + timedelta(days=3))
    vote_all(proposal, people[1:12], lambda p: {rng.choices(opts(p), [8, 2, 1, 0.2])[0]: 1},
             ["The guarantee is worth it.", "Pricey, but the first quote was vague.", "Let's get it done before winter."])
    check = create_poll(
        actor_id=people[1].id, discussion_id=quiet.id if quiet else None, group_id=riverside.id, poll_type="check",
        title="Try quiet hours (10pm–7am) for three months?", closing_at=now + timedelta(hours=20),
        anonymous=True)
    vote_all(check, people[2:9], lambda p: {rng.choice(opts(p)): 1})
    meeting = create_poll(
        actor_id=admin.id, group_id=riverside.id, poll_type="meeting", title="General meeting in spring",
        closing_at=now + timedelta(days=2), time_zone="Europe/London", duration_minutes=90,
        slots=[(now + timedelta(days=14 + d)).replace(hour=18, minute=30, second=0, microsecond=0) for d in (0, 2, 5)])
    vote_all(meeting, people[:10], lambda p: {o: rng.choice([0, 1, 2, 2]) for o in opts(p)})
    close_poll(actor_id=admin.id, poll_id=meeting.id)
    best = results_for(admin, db.session.get(Poll, meeting.id)).results.best_option_id
    set_outcome(actor_id=admin.id, poll_id=meeting.id, option_id=best,
                statement="We meet in the common room; agenda to follow.")
    garden_people = members_of["garden"]
    dots = create_poll(
        actor_id=garden_people[1].id, group_id=garden.id, poll_type="dot_vote", title="What should bed 4 grow?",
        options=["Strawberries", "Pumpkins", "Sunflowers", "Salad leaves"], dots_per_person=5,
        closing_at=now + timedelta(days=5))

    def spread(p):
        left, out = 5, {}
        for o in rng.sample(opts(p), k=len(opts(p))):
            n = rng.randint(0, left)
            out[o], left = n, left - n
        out[opts(p)[0]] = out.get(opts(p)[0], 0) + left
        return out

    vote_all(dots, garden_people[:9], spread)
    ranked = create_poll(
        actor_id=garden_people[0].id, group_id=garden.id, poll_type="ranked_choice", title="Name for the compost bays",
        options=["Rot Stars", "The Heap", "Worm Hotel", "Compostela"], closing_at=now + timedelta(days=1))
    vote_all(ranked, garden_people[:10], lambda p: {o: len(opts(p)) - i for i, o in enumerate(rng.sample(opts(p), 3))})
    close_poll(actor_id=garden_people[0].id, poll_id=ranked.id)
    food = members_of["foodshare"]
    count = create_poll(
        actor_id=food[1].id, group_id=foodshare.id, poll_type="count", title="Who can help at the Christmas market stall?",
        target=6, closing_at=now + timedelta(days=6))
    vote_all(count, food[1:8], lambda p: {rng.choices(opts(p), [3, 1])[0]: 1})
    question = create_poll(
        actor_id=food[0].id, group_id=foodshare.id, poll_type="question", title="Which shop should we ask next?",
        closing_at=now + timedelta(days=4))
    for person, answer in zip(food[1:4], ["The greengrocer on Station Road", "Mill Lane deli", "The Co-op, they said maybe"]):
        cast_vote(actor_id=person.id, poll_id=question.id, reason=answer)
    score = create_poll(
        actor_id=food[0].id, group_id=foodshare.id, poll_type="score", title="Rate the collection routes",
        options=["North loop", "River path", "High street"], min_score=0, max_score=5,
        closing_at=now + timedelta(days=4), hide_results="until_closed")
    vote_all(score, food[:6], lambda p: {o: rng.randint(0, 5) for o in opts(p)})
    poll = create_poll(
        actor_id=food[1].id, group_id=foodshare.id, poll_type="poll", title="Which days can you volunteer?",
        options=["Thursday", "Friday", "Saturday"], min_choices=1, max_choices=3,
        closing_at=now + timedelta(days=4), hide_results="until_vote")
    vote_all(poll, food[2:8], lambda p: {o: 1 for o in rng.sample(opts(p), rng.randint(1, 3))})

