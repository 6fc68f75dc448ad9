"""Changing an open poll: its title, details and closing time (extend or bring forward, never into
the past), its options (add, rename, remove; removing or renaming one that has votes needs the
author to confirm, told how many votes it touches), and whether voters may add options.

Every change is a `poll_edited` event naming what changed (old and new): the poll's history on
its page, and (when an option changed) a mail to everyone who has voted."""
from __future__ import annotations

from datetime import datetime, timedelta

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from ... import policy
from ...extensions import db
from ...i18n import _, _n
from ...models import Event, Participation, Poll, PollOption, Stance, StanceChoice
from ...polls import get_type
from ...polls.base import ordered_options
from ...text import one_line
from ...timezones import local_time
from .. import events
from ..accounts import acting_member
from ..errors import Invalid, NotAllowed
from .common import CLOSING_SOON, aware, check_closing, event_fields, in_sentence, now_or, visible_poll
from .creation import MAX_OPTIONS, OPTION_MAX, clean_details, clean_title


def editable_poll(user, poll_id: int) -> Poll:
    """The poll, if this person may change it now (its author or a group admin, while it is open)."""
    poll = visible_poll(user, poll_id)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can change it."))
    if not policy.can_edit_poll(user, poll):
        raise NotAllowed(_("This poll is closed, so it can no longer be changed (reopen it first)."))
    return poll


class NeedsConfirmation(Invalid):
    """Removing or renaming options that people voted for: ask the author first, saying how many votes."""

    def __init__(self, message: str, *, votes: int):
        super().__init__(message, field="confirm")
        self.votes = votes


@dataclass(frozen=True)
class OptionEdits:
    """What the edit form asks of the options: new names by option id, ids to remove, names to add."""

    renames: dict[int, str]
    removals: frozenset[int] = frozenset()
    additions: tuple[str, ...] = ()


def votes_on(option_ids) -> int:
    """How many current votes chose (or scored, or ranked) any of these options."""
    if not option_ids:
        return 0
    return db.session.scalar(select(func.count(func.distinct(Stance.id))).join(StanceChoice, StanceChoice.stance_id == Stance.id)
                             .where(Stance.latest.is_(True), StanceChoice.poll_option_id.in_(list(option_ids)))) or 0


def edit_poll(*, actor_id: int, poll_id: int, title: str, details: str, closing_at: datetime,
              options: OptionEdits | None = None, voters_can_add_options: bool | None = None,
              confirmed: bool = False, now: datetime | None = None) -> Poll:
    """Change an open poll; each change is recorded in its history. Options that have votes are
    renamed or removed only when `confirmed` (else NeedsConfirmation says how many votes)."""
    user = acting_member(actor_id)
    poll = editable_poll(user, poll_id)
    now = now_or(now)
    kind = get_type(poll.poll_type)
    changes: dict = {}
    title, details = clean_title(title), clean_details(details)
    if title != poll.title:
        changes["title"] = [poll.title, title]
    if details != (poll.details or ""):
        changes["details"] = [poll.details or "", details]
    # The form shows minutes: the same minute is no change.
    if not isinstance(closing_at, datetime) or abs(aware(closing_at) - aware(poll.closing_at)) >= timedelta(minutes=1):
        closing_at = check_closing(closing_at, now)
        changes["closing_at"] = [aware(poll.closing_at).isoformat(), closing_at.isoformat()]
    if voters_can_add_options is not None and kind.takes_option_names \
            and bool(voters_can_add_options) != poll.voters_can_add_options:
        changes["voters_can_add_options"] = [poll.voters_can_add_options, bool(voters_can_add_options)]
    option_changes = _option_changes(poll, kind, options, confirmed) if options is not None else {}
    if not changes and not option_changes:
        return poll
    poll.title, poll.details = title, details
    if "closing_at" in changes:
        _move_closing(poll, closing_at, now)
    if "voters_can_add_options" in changes:
        poll.voters_can_add_options = bool(voters_can_add_options)
    voters = _voter_ids(poll) if option_changes else []  # before a removal can leave one undecided
    _apply_options(poll, option_changes)
    events.record("poll_edited", actor_id=user.id, **event_fields(poll), title=poll.title,
                  changes={**changes, **option_changes}, voter_ids=voters)
    db.session.commit()
    return poll


def _option_changes(poll: Poll, kind, edits: OptionEdits, confirmed: bool) -> dict:
    """{"options_renamed": [[id, old, new]…], "options_removed": [[id, name]…], "options_added": [names]}."""
    current = ordered_options(poll)
    if not kind.takes_option_names:
        if edits.renames and any(one_line(edits.renames.get(o.id, o.name)) != o.name for o in current) \
                or edits.removals or edits.additions:
            raise Invalid(_("A %(kind)s's options can't be changed.", kind=in_sentence(kind.label)), field="options")
        return {}
    renamed, removed = [], []
    kept_names = []
    for option in current:
        if option.id in edits.removals:
            removed.append([option.id, option.name])
            continue
        name = one_line(edits.renames.get(option.id, option.name))
        if name != option.name:
            renamed.append([option.id, option.name, name])
        kept_names.append(name)
    added = [name for name in (one_line(n) for n in edits.additions) if name]
    names = kept_names + added
    _check_names(poll, kind, names)
    if not confirmed:
        touched = [r[0] for r in removed] + [r[0] for r in renamed]
        votes = votes_on(touched)
        if votes:
            what = "; ".join([_("removing “%(name)s”", name=name) for _id, name in removed] +
                             [_("renaming “%(old)s” to “%(new)s”", old=old, new=new) for _id, old, new in renamed])
            raise NeedsConfirmation(_n("%(changes)s changes %(num)s vote already cast. Confirm to go ahead: those voters are "
                                       "told by email.",
                                       "%(changes)s changes %(num)s votes already cast. Confirm to go ahead: those voters are "
                                       "told by email.", votes, changes=what[0].upper() + what[1:]), votes=votes)
    out: dict = {}
    if renamed:
        out["options_renamed"] = renamed
    if removed:
        out["options_removed"] = removed
    if added:
        out["options_added"] = added
    return out


def _check_names(poll: Poll, kind, names: list[str]) -> None:
    if len(names) > MAX_OPTIONS:
        raise Invalid(_("A poll can have at most %(num)s options.", num=MAX_OPTIONS), field="options")
    if any(len(n) > OPTION_MAX for n in names):
        raise Invalid(_("Options can be at most %(num)s characters.", num=OPTION_MAX), field="options")
    settings = {name: getattr(poll, name) for name in kind.settings_fields}
    settings = {k: v for k, v in settings.items() if v is not None}
    problems = kind.validate_settings({**settings, "options": names, "reason_mode": poll.reason_mode})
    if problems:
        raise Invalid(" ".join(str(p) for p in problems), field="options")


def _voter_ids(poll: Poll) -> list[int]:
    """Who has voted: those told when an option changes."""
    return sorted(db.session.scalars(select(Participation.user_id).where(Participation.poll_id == poll.id)))


def _apply_options(poll: Poll, changes: dict) -> None:
    by_id = {o.id: o for o in poll.options}
    for option_id, _old, new in changes.get("options_renamed", []):
        by_id[option_id].name = new
    removed = [option_id for option_id, _name in changes.get("options_removed", [])]
    if removed:
        touched = list(db.session.scalars(select(Stance).join(StanceChoice, StanceChoice.stance_id == Stance.id).where(
            Stance.poll_id == poll.id, Stance.latest.is_(True), StanceChoice.poll_option_id.in_(removed)).distinct()))
        db.session.execute(delete(StanceChoice).where(StanceChoice.poll_option_id.in_(removed))
                           .execution_options(synchronize_session=False))
        for option_id in removed:
            poll.options.remove(by_id[option_id])
        db.session.flush()
        for stance in touched:  # a vote left choosing nothing is no vote: its voter is undecided again
            db.session.refresh(stance)
            if not stance.stance_choices and stance.participant_id is not None:
                stance.latest = False
                db.session.execute(delete(Participation).where(Participation.poll_id == poll.id,
                                                               Participation.user_id == stance.participant_id))
    last = max((o.priority for o in poll.options), default=-1)
    for i, name in enumerate(changes.get("options_added", []), start=1):
        poll.options.append(PollOption(poll_id=poll.id, name=name, priority=last + i))
    db.session.flush()


def add_option(*, actor_id: int, poll_id: int, name: str) -> PollOption:
    """A voter adds an option, where the poll lets voters add them (policy.can_add_option)."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_add_option(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can add options to this poll."))
    kind = get_type(poll.poll_type)
    name = one_line(name)
    if not name:
        raise Invalid(_("Please give the new option a name."), field="option_name")
    try:
        _check_names(poll, kind, [o.name for o in ordered_options(poll)] + [name])
    except Invalid as error:
        raise Invalid(error.message, field="option_name") from None
    voters = _voter_ids(poll)
    _apply_options(poll, {"options_added": [name]})
    events.record("poll_edited", actor_id=user.id, **event_fields(poll), title=poll.title,
                  changes={"options_added": [name]}, voter_ids=voters)
    db.session.commit()
    return poll.options[-1]


def poll_history(poll_id: int) -> list[Event]:
    """The poll's changes, oldest first (each a `poll_edited` event whose `changes` say what changed)."""
    return list(db.session.scalars(select(Event).where(Event.poll_id == poll_id, Event.kind == "poll_edited")
                                   .order_by(Event.id)))


@dataclass(frozen=True)
class Change:
    """One entry of a poll's history, as its page shows it."""

    when: datetime
    who: str
    lines: list[str]


def history_lines(poll: Poll, zone: str | None) -> list[Change]:
    """The poll's history in words, times in the reader's zone (in the reader's language; the running settings'
    lines are stored with the event, as they were written)."""
    from ...models.users import name_of

    def when(iso: str) -> str:
        return local_time(datetime.fromisoformat(iso), zone)

    out = []
    for event in poll_history(poll.id):
        changes = (event.data or {}).get("changes") or {}
        lines = []
        if "title" in changes:
            old, new = changes["title"]
            lines.append(_("Title: “%(old)s” → “%(new)s”", old=old, new=new))
        if "details" in changes:
            lines.append(_("Details changed"))
        if "closing_at" in changes:
            old, new = (when(t) for t in changes["closing_at"])
            lines.append(_("Closing time: %(old)s → %(new)s", old=old, new=new))
        if "voters_can_add_options" in changes:
            lines.append(_("Voters may now add options") if changes["voters_can_add_options"][1]
                         else _("Voters may no longer add options"))
        lines += [_("Option added: “%(name)s”", name=name) for name in changes.get("options_added", [])]
        lines += [_("Option renamed: “%(old)s” → “%(new)s”", old=old, new=new)
                  for _id, old, new in changes.get("options_renamed", [])]
        lines += [_("Option removed: “%(name)s”", name=name) for _id, name in changes.get("options_removed", [])]
        lines += list(changes.get("settings", []))  # running settings (app.services.polls.running), in words
        out.append(Change(when=event.created_at, who=name_of(event.actor), lines=lines))
    return out


def change_closing(*, actor_id: int, poll_id: int, closing_at: datetime, now: datetime | None = None,
                   inbound_message_id: int | None = None) -> Poll:
    """Move an open poll's closing time (later or sooner), never into the past or over a year ahead."""
    user = acting_member(actor_id)
    poll = editable_poll(user, poll_id)
    now = now_or(now)
    closing_at = check_closing(closing_at, now)
    old = aware(poll.closing_at)
    if closing_at == old:
        return poll
    _move_closing(poll, closing_at, now)
    events.record("poll_edited", actor_id=user.id, **event_fields(poll), title=poll.title,
                  changes={"closing_at": [old.isoformat(), closing_at.isoformat()]},
                  inbound_message_id=inbound_message_id)
    db.session.commit()
    return poll


def _move_closing(poll: Poll, closing_at: datetime, now: datetime) -> None:
    poll.closing_at = closing_at
    if closing_at - now > timedelta(hours=poll.closing_soon_hours or CLOSING_SOON.total_seconds() // 3600):
        poll.closing_soon_sent_at = None  # out of the notice's time again: the notice goes out once more


def done_by_message(poll_id: int, kind: str, inbound_message_id: int | None) -> bool:
    """Has the stored message `inbound_message_id` already done this to the poll (a retried job)?"""
    if inbound_message_id is None:
        return False
    data = db.session.scalars(select(Event.data).where(Event.poll_id == poll_id, Event.kind == kind))
    return any((d or {}).get("inbound_message_id") == inbound_message_id for d in data)
