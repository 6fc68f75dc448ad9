"""Mail to a group's address → a new thread, or a decision.

    Subject: Garden day in May           → a thread titled "Garden day in May"; the text is its body
    Subject: Proposal: Buy a new mower   → a proposal (agree / abstain / disagree / block)
    Subject: Poll: Where shall we meet?  → a poll whose options are the "- option" lines

`Re:`/`Fwd:` prefixes (and their German, Nordic, French and Dutch forms) and a `[handle]` tag are
removed from the subject. An optional line `Closes: in 3 days` (or hours, weeks; "tomorrow"; or a
date such as `2026-12-01 17:00`, read in the member's time zone, 17:00 when no time is given)
sets when a decision closes; without it the poll type's default applies. Attachments are kept on
threads. Everything goes through the services the web's forms call, with the same policy checks.

`Notify: ada@example.org, @garden` lines at the top of the text name people, subgroups (or the whole
group, by its own handle) to tell at once, whatever their mail settings; they are not part of the
text. Only those who may read the thread are told (services/mentions); the confirmation says which
names reached nobody.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from dateutil import parser as dateparser
from flask import current_app
from sqlalchemy import select

from app import policy
from app.timezones import local_time, zone
from app.email.addresses import reply_address
from app.extensions import db
from app.i18n import _, current_locale
from app.models import Discussion, Group, Poll
from app.polls import POLL_TYPES, get_type
from app.services import discussions, held_mail
from app.services import polls as poll_service
from app.services.errors import DomainError

from . import confirm
from .reply import ActionResult, Reply, accepted_files, refused

_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|aw|wg|sv|vs|tr|antw|doorst|rif|enc)(?:\[\d+\])?\s*:\s*|\[[^\]]{1,60}\]\s*)+",
                     re.IGNORECASE)
# "Proposal: …" or "Poll: …": the subject keyword of each poll type that may be started by mail.
_BY_KEYWORD = {kind.subject_keyword: kind.name for kind in POLL_TYPES.values() if kind.subject_keyword}
_DECISION = re.compile(rf"^\s*({'|'.join(map(re.escape, _BY_KEYWORD))})\s*:\s*(.*)$", re.IGNORECASE)
_OPTION = re.compile(r"^\s*[-*\u2022]\s+(.+?)\s*$")
_CLOSES = re.compile(r"^\s*closes\s*:\s*(.+?)\s*$", re.IGNORECASE)
_NOTIFY = re.compile(r"^\s*notify\s*:\s*(.*?)\s*$", re.IGNORECASE)
_RELATIVE = re.compile(r"^in\s+(\d{1,3})\s*(minute|min|hour|hr|day|week)s?$", re.IGNORECASE)
UNITS = {"minute": "minutes", "min": "minutes", "hour": "hours", "hr": "hours", "day": "days", "week": "weeks"}
DEFAULT_HOUR = 17


def clean_subject(subject: str) -> str:
    """The subject without reply/forward prefixes or list tags."""
    return " ".join(_PREFIX.sub("", " ".join((subject or "").split())).split())


class ClosingError(ValueError):
    pass


def parse_closing(value: str, *, now: datetime, time_zone: str) -> datetime:
    """`in 3 days`, `tomorrow`, `2026-12-01 17:00`, `1 December` → an aware UTC datetime."""
    tz = zone(time_zone)
    text = " ".join(value.lower().split()).strip(".")
    if match := _RELATIVE.match(text):
        return now + timedelta(**{UNITS[match.group(2).lower()]: int(match.group(1))})
    local_now = now.astimezone(tz)
    if text == "tomorrow":
        day = local_now + timedelta(days=1)
        return day.replace(hour=DEFAULT_HOUR, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
    try:
        default = local_now.replace(hour=DEFAULT_HOUR, minute=0, second=0, microsecond=0, tzinfo=None)
        parsed = dateparser.parse(value, default=default, dayfirst=False)
    except (ValueError, OverflowError):
        raise ClosingError(_("We could not read “Closes: %(value)s” as a date. Write for example “Closes: in 3 "
                             "days” or “Closes: 2026-12-01 17:00”.", value=value)) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(timezone.utc)


def _split_body(text: str) -> tuple[list[str], str | None, str]:
    """(option lines, the Closes: value, everything else)."""
    options, closes, rest = [], None, []
    for line in (text or "").splitlines():
        if closes is None and (match := _CLOSES.match(line)):
            closes = match.group(1)
        elif match := _OPTION.match(line):
            options.append(match.group(1))
        else:
            rest.append(line)
    return options, closes, "\n".join(rest).strip()


def split_notify(text: str) -> tuple[str, str]:
    """("names, from the Notify: lines at the top", the rest of the text)."""
    lines = (text or "").splitlines()
    names: list[str] = []
    i = 0
    while i < len(lines) and (not lines[i].strip() or _NOTIFY.match(lines[i])):
        if match := _NOTIFY.match(lines[i]):
            names.append(match.group(1))
        i += 1
    if not names:
        return "", text or ""
    return ", ".join(n for n in names if n), "\n".join(lines[i:])


def _left_out_note(left_out: list[str]) -> list[str]:
    if not left_out:
        return []
    return [_("Not told: %(names)s. A Notify: line reaches only people who may read it (members of the group, or "
              "guests of the thread) and the group's own subgroups; to bring someone from outside into the thread, "
              "invite them as a guest on its page.", names=", ".join(left_out))]


def _kind_name(kind) -> str:
    """A poll type's name inside a sentence ("your proposal"): lower-case, except where nouns keep capitals."""
    label = str(kind.label)
    return label if current_locale() == "de" else label.lower()


def _files(reply: Reply) -> tuple[list[tuple[str, bytes]], list[str]]:
    return accepted_files(reply.attachments)


def mail_to_group(reply: Reply) -> ActionResult:
    group = db.session.get(Group, reply.target_id)
    if group is None or group.archived_at is not None:
        return refused("new_thread", _("There is no such group."))
    if (done := _already_started(reply, group)) is not None:  # a retried job: confirm (once) and stop
        return done
    if not policy.is_member(reply.user, group):
        return hold_stranger(reply, group, reply.user.email)
    title = clean_subject(reply.subject)
    decision = _DECISION.match(title)
    if decision:
        return _start_decision(reply, group, _BY_KEYWORD[decision.group(1).lower()], decision.group(2).strip())
    if not title:
        return refused("new_thread", _("Your email had no subject, and a new thread needs one: it becomes the "
                                       "thread's title. Please send it again with a subject."), group_id=group.id)
    if not policy.can_start_thread(reply.user, group):
        return refused("new_thread", _("Only the admins of %(group)s can start threads, so your email was not "
                                       "posted.", group=group.name), group_id=group.id)
    files, notes = _files(reply)
    notify, text = split_notify(reply.text)
    if reply.dry_run:
        return ActionResult("processed", "new_thread", f"would start a thread “{title}”", group_id=group.id,
                            preview=_("Start a thread “%(title)s”", title=title))
    try:
        discussion = discussions.start_thread(actor_id=reply.user.id, group_id=group.id, title=title, body=text,
                                              source="email", files=files, inbound_message_id=reply.inbound_id,
                                              notify=notify)
    except DomainError as error:
        db.session.rollback()
        return refused("new_thread", _("%(error)s Your email was not posted.", error=error.message), group_id=group.id)
    _confirm_thread(reply, group, discussion, notes + _left_out_note(getattr(discussion, "notify_left_out", [])))
    return ActionResult("processed", "new_thread", f"started thread {discussion.id}", group_id=group.id)


def _confirm_thread(reply: Reply, group: Group, discussion: Discussion, notes: list[str]) -> None:
    url = current_app.config["BASE_URL"] + f"/d/{discussion.id}"
    confirm.done(reply, subject=_("Thread started: %(title)s", title=discussion.title),
                 reply_to=reply_address(reply.user, "discussion", discussion.id),
                 paragraphs=[_("Your thread “%(title)s” was started in %(group)s, and its members are being told. "
                               "Replies to this email are posted in it.", title=discussion.title, group=group.name),
                             *notes], link=url)


def _already_started(reply: Reply, group: Group, *, confirm: bool = True) -> ActionResult | None:
    """A retried job (the worker died after the commit): the thread or decision this very message
    started is already there, so nothing is started again; the confirmation is sent if it was not
    (it is keyed on the stored message, so never twice)."""
    if reply.inbound_id is None or reply.dry_run:
        return None
    discussion = db.session.scalar(select(Discussion).where(Discussion.inbound_message_id == reply.inbound_id))
    if discussion is not None:
        if confirm:
            _confirm_thread(reply, group, discussion, _files(reply)[1])
        return ActionResult("processed", "new_thread", f"already started thread {discussion.id}",
                                    group_id=group.id)
    poll = db.session.scalar(select(Poll).where(Poll.inbound_message_id == reply.inbound_id))
    if poll is not None:
        _confirm_poll(reply, group, poll)
        return ActionResult("processed", "new_poll", f"already started {poll.poll_type} {poll.id}",
                            group_id=group.id)
    return None


def _start_decision(reply: Reply, group: Group, poll_type: str, title: str) -> ActionResult:
    kind = get_type(poll_type)
    notify, text = split_notify(reply.text)
    options, closes, details = _split_body(text)
    if kind.fixed_options:  # "- " lines are part of the text, not options
        options, details = [], _split_body_keep_options(text)
    now = datetime.now(timezone.utc)
    try:
        closing_at = (parse_closing(closes, now=now, time_zone=reply.user.time_zone) if closes
                      else now + timedelta(days=kind.default_closing_days))
    except ClosingError as error:
        return refused("new_poll", _("%(error)s Nothing was started.", error=str(error)), group_id=group.id)
    if not policy.can_create_poll(reply.user, group):
        return refused("new_poll", _("Only the admins of %(group)s can start decisions, so nothing was started.",
                                     group=group.name), group_id=group.id)
    if reply.dry_run:
        return ActionResult("processed", "new_poll", f"would start a {str(kind.label).lower()} “{title}”",
                            group_id=group.id, preview=_("Start a %(kind)s “%(title)s”", kind=_kind_name(kind),
                                                         title=title))
    try:
        poll = poll_service.create_poll(actor_id=reply.user.id, group_id=group.id, poll_type=poll_type, title=title,
                                        details=details, options=options or None, closing_at=closing_at,
                                        time_zone=reply.user.time_zone or "UTC", source="email",
                                        inbound_message_id=reply.inbound_id, notify=notify)
    except DomainError as error:
        db.session.rollback()
        return refused("new_poll", _("%(error)s Nothing was started.", error=error.message), group_id=group.id)
    _confirm_poll(reply, group, poll)
    return ActionResult("processed", "new_poll", f"started {poll_type} {poll.id}", group_id=group.id)


def _confirm_poll(reply: Reply, group: Group, poll: Poll) -> None:
    kind = get_type(poll.poll_type)
    notes = _left_out_note(getattr(poll, "notify_left_out", []))
    if reply.attachments:
        notes.append(_("Decisions carry no files, so your attachments were not kept (%(names)s). Start a thread to "
                       "share them.", names=", ".join(a.filename for a in reply.attachments)))
    confirm.done(reply, subject=_("%(kind)s started: %(title)s", kind=kind.label, title=poll.title),
                 reply_to=reply_address(reply.user, "poll", poll.id),
                 paragraphs=[_("Your %(kind)s “%(title)s” was started in %(group)s and closes %(closes)s. Its members "
                               "are being asked to vote.", kind=_kind_name(kind), title=poll.title, group=group.name,
                               closes=local_time(poll.closing_at, reply.user.time_zone)),
                             _("You can vote too: reply to this email with your vote on the first line.") + "\n\n"
                             + kind.help_text(poll, reply.user.time_zone), *notes],
                 link=current_app.config["BASE_URL"] + f"/p/{poll.id}")


def _split_body_keep_options(text: str) -> str:
    return "\n".join(line for line in (text or "").splitlines() if not _CLOSES.match(line)).strip()


def post_for_stranger(reply: Reply, group: Group, *, allowed_by_id: int) -> ActionResult:
    """A held non-member's message an admin chose to post once: a thread, in the sender's name."""
    if (done := _already_started(reply, group, confirm=False)) is not None:
        return done
    title = clean_subject(reply.subject) or "(no subject)"
    if reply.dry_run:
        return ActionResult("processed", "new_thread", f"would post “{title}” from a non-member", group_id=group.id)
    files, _notes = _files(reply)
    try:
        discussion = discussions.start_thread(actor_id=reply.user.id, group_id=group.id, title=title, body=reply.text,
                                              source="email", files=files, inbound_message_id=reply.inbound_id,
                                              allowed_by_id=allowed_by_id)
    except DomainError as error:
        db.session.rollback()
        return ActionResult("rejected", "new_thread", error.message, group_id=group.id)
    return ActionResult("processed", "new_thread", f"posted thread {discussion.id} from a non-member, once, as "
                                                   f"admin {allowed_by_id} chose", group_id=group.id)


def hold_stranger(reply: Reply | None, group: Group, sender: str, *, subject: str = "",
                  inbound_id: int | None = None, dry_run: bool = False, preview: str = "") -> ActionResult:
    """Mail to the group from someone it does not know: refused if blocked, else held for the admins
    (told with the start of its text)."""
    if reply is not None:
        subject, inbound_id, dry_run, preview = reply.subject, reply.inbound_id, reply.dry_run, reply.text
    rule = held_mail.rule_for(group.id, sender)
    if rule == "block":
        return ActionResult("rejected", "blocked_sender", f"{sender} is blocked by the admins of {group.handle}",
                                    group_id=group.id)
    if not dry_run:
        held_mail.notify_admins(group_id=group.id, inbound_id=inbound_id, sender=sender, subject=subject,
                                preview=preview)
    return ActionResult("held", held_mail.HELD_ACTION, f"{sender} is not a member of {group.handle}: held for "
                                "the group's admins to allow or block", group_id=group.id)
