"""Poll commands by reply: the poll's author (or a group admin) runs the poll from any mail about
it, and any voter can take their vote back.

The whole first line of a reply to a poll's mail is the command (any case, a trailing "." or "!"
allowed); anything else is read as a vote, so "close to agreeing" is a vote's reason, never a
command, and a line that names one of the poll's options is that vote:

    close                        close the poll now ("close poll", "close the poll")
    extend 2 days                move the closing time later by minutes, hours, days or weeks ("extend by …")
    extend to 12 Dec 18:00       a new closing time, read in the member's time zone ("until", "till")
    remind                       remind everyone who has not voted; the lines below are the message
    remind Alice                 remind one person who has not voted, by name or email address
                                 ("remind alice@example.org"); a person is reminded at most once a day
    reopen 3 days                reopen a closed poll until then ("reopen until 12 Dec 18:00")
    outcome: We buy the mower.   what was decided, once the poll has closed (the lines below continue it);
                                 a meeting poll's outcome starts with the chosen slot's number ("outcome: 2");
                                 a last line "review: 1 March 2027" sets its review date (its author is reminded then)
    unvote                       any voter: take your vote back ("remove my vote")

Each is done through the service the poll page's forms call (`app.services.polls`), whose policy
check decides who may: anyone else is told so and nothing changes. Each is confirmed by a mail
that threads under the member's reply.
"""
from __future__ import annotations

import re
from functools import lru_cache
from datetime import datetime, timedelta, timezone

from app import policy
from app.email.addresses import reply_address
from app.extensions import db
from app.i18n import _, _lp, _n, reply_words
from app.models import Poll
from app.polls import get_type
from app.polls.base import ordered_options
from app.services import polls as poll_service
from app.services.errors import DomainError
from app.timezones import local_slot, local_time

from . import confirm
from .newthreads import ClosingError, parse_closing
from .reply import ActionResult, Handler, Reply, refused, url

# The verbs and units, in every shipped language: catalog entries in the context "reply word"
# (docs/TRANSLATING.md); the English forms below are always understood as well.
VERBS = ("close", "extend", "remind", "reopen", "outcome", "unvote")
_CATALOG = (  # listed so that extraction puts each in the catalog
    _lp("reply word", "close"), _lp("reply word", "extend"), _lp("reply word", "remind"),
    _lp("reply word", "reopen"), _lp("reply word", "outcome"), _lp("reply word", "unvote"),
    _lp("reply word", "minute"), _lp("reply word", "hour"), _lp("reply word", "day"), _lp("reply word", "week"),
    _lp("reply word", "until"), _lp("reply word", "everyone"),
)
_ENGLISH_UNITS = {"minute": "minutes", "min": "minutes", "hour": "hours", "hr": "hours", "day": "days", "week": "weeks"}


def _any(words) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)) + ")"


@lru_cache(maxsize=1)
def _units() -> dict[str, str]:
    """{"tage": "days", "jours": "days", "days": "days", …}: every spelling of a span's unit."""
    units = {}
    for english, unit in _ENGLISH_UNITS.items():
        units[english] = units[english + "s"] = unit
    for english in ("minute", "hour", "day", "week"):
        units.update((word, _ENGLISH_UNITS[english]) for word in reply_words(english))
    return units


@lru_cache(maxsize=1)
def _grammar() -> list[tuple[str, re.Pattern]]:
    span = rf"(?:by\s+|for\s+|um\s+|de\s+|par\s+|met\s+|por\s+)?(\d{{1,3}})\s*({_any(_units())})"
    when = rf"{_any(('to', 'till', 'on', *reply_words('until')))}\s+(.+)"
    everyone = _any(("them", "the undecided", *reply_words("everyone")))
    verb = {name: _any(reply_words(name)) for name in VERBS}
    return [
        ("close", re.compile(rf"^{verb['close']}(?:\s+(?:the\s+)?poll)?(?:\s+now)?$")),
        ("extend", re.compile(rf"^{verb['extend']}(?:\s+(?:the\s+)?poll)?(?:\s+(?:{span}|{when}))?$")),
        ("remind", re.compile(rf"^(?:{verb['remind']}|send\s+(?:a\s+)?reminders?)(?:\s+{everyone})?$")),
        ("remind_person", re.compile(rf"^{verb['remind']}\s+(?!{everyone}$)(\S.{{0,199}})$")),
        ("reopen", re.compile(rf"^{verb['reopen']}(?:\s+(?:the\s+)?poll)?(?:\s+(?:{span}|{when}))?$")),
        ("outcome", re.compile(rf"^{verb['outcome']}\s*(?::\s*(.*)|$)", re.IGNORECASE)),
        ("unvote", re.compile(rf"^(?:{verb['unvote']}|(?:remove|withdraw|delete|cancel)\s+my\s+vote)$")),
    ]


def _first_line(text: str) -> tuple[str, str]:
    """(the first non-empty line, everything after it)."""
    lines = (text or "").strip().splitlines()
    return (lines[0].strip() if lines else ""), "\n".join(lines[1:]).strip()


def _normal(line: str) -> str:
    return " ".join(line.casefold().split()).rstrip(".!").strip()


def parse(text: str) -> tuple[str, re.Match] | None:
    """(command, its match) if the whole first line is a poll command, else None."""
    first, _rest = _first_line(text)
    line = _normal(first)
    for name, pattern in _grammar():
        if match := pattern.match(first if name == "outcome" else line):  # an outcome keeps its own case
            return name, match
    return None


def command_of(reply: Reply) -> Handler | None:
    """The poll command this reply to a poll gives, or None (then it is a vote, or a comment)."""
    parsed = parse(reply.text)
    if parsed is None:
        return None
    poll = db.session.get(Poll, reply.target_id)
    if poll is not None:
        first = _normal(_first_line(reply.text)[0])
        if any(_normal(option.name) == first for option in poll.options):
            return None  # "Close" is one of this poll's options: a vote for it
    return COMMANDS[parsed[0]]


# --- shared -------------------------------------------------------------------------------

def _poll(reply: Reply, action: str, *, open_: bool = False) -> tuple[Poll | None, ActionResult | None]:
    poll = db.session.get(Poll, reply.target_id)
    if poll is None or not policy.can_view_poll(reply.user, poll):
        return None, refused(action, _("The poll you replied to no longer exists (or you can no longer see it), "
                                       "so nothing was changed."))
    if not policy.can_administer_poll(reply.user, poll):
        return None, refused(action, _only_admins(action, poll.title), group_id=poll.group_id)
    if open_ and not policy.can_edit_poll(reply.user, poll):
        return None, refused(action, _("“%(title)s” is closed already, so nothing was changed. To take votes again, "
                                       "reply with “reopen 3 days”.", title=poll.title), group_id=poll.group_id)
    return poll, None


def _only_admins(action: str, title: str) -> str:
    """Why a member who is neither the poll's author nor an admin cannot run `action`."""
    if action == "poll_close":
        return _("Only the author of “%(title)s” or one of the group's admins can close it, so nothing was changed. "
                 "To vote, reply with your vote on the first line, as the poll's email shows.", title=title)
    if action == "poll_extend":
        return _("Only the author of “%(title)s” or one of the group's admins can change when it closes, so nothing "
                 "was changed. To vote, reply with your vote on the first line, as the poll's email shows.", title=title)
    if action == "poll_remind":
        return _("Only the author of “%(title)s” or one of the group's admins can send reminders, so nothing was "
                 "changed. To vote, reply with your vote on the first line, as the poll's email shows.", title=title)
    if action == "poll_reopen":
        return _("Only the author of “%(title)s” or one of the group's admins can reopen it, so nothing was "
                 "changed. To vote, reply with your vote on the first line, as the poll's email shows.", title=title)
    return _("Only the author of “%(title)s” or one of the group's admins can write its outcome, so nothing was "
             "changed. To vote, reply with your vote on the first line, as the poll's email shows.", title=title)


def _failed(action: str, poll: Poll, error: DomainError) -> ActionResult:
    db.session.rollback()
    return refused(action, _("%(error)s Nothing was changed.", error=error.message), group_id=poll.group_id)


def _confirm(reply: Reply, poll: Poll, subject: str, paragraphs: list[str]) -> None:
    confirm.done(reply, subject=subject, reply_to=reply_address(reply.user, "poll", poll.id), link=url(f"/p/{poll.id}"),
                 paragraphs=paragraphs)


def _act(reply: Reply, poll: Poll, action: str, *, would: str, call, subject: str, paragraphs, done: str,
         preview: str = "") -> ActionResult:
    """A command's common end: in a dry run say what it would do; else `call()` the service, confirm
    (`paragraphs(poll)`, the poll as the service left it) and say what was done."""
    if reply.dry_run:
        return ActionResult("processed", action, would, group_id=poll.group_id, preview=preview)
    try:
        poll = call() or poll
    except DomainError as error:
        return _failed(action, poll, error)
    _confirm(reply, poll, subject, paragraphs(poll))
    return ActionResult("processed", action, done, group_id=poll.group_id)


def _when(match: re.Match, *, base: datetime, now: datetime, zone: str, command: str) -> datetime | None:
    """The time a span (from `base`) or a date (in the member's zone) names; None when neither was given."""
    count, unit, date = match.group(1), match.group(2), match.group(3)
    if count:
        return base + timedelta(**{_units()[unit.casefold()]: int(count)})
    if date:
        try:
            when = parse_closing(date, now=now, time_zone=zone)
            if when <= now and not re.search(r"\b\d{4}\b", date) and when + timedelta(days=366) > now:
                when = when.replace(year=when.year + 1)  # "2 Jan", written in December: the coming one
            return when
        except ClosingError:
            raise ClosingError(_("We could not read “%(date)s” as a date and time. Write for example “%(command)s 2 "
                                 "days” or “%(command)s to 12 Dec 18:00” (in your time zone).", date=date,
                                 command=command)) from None
    return None


def _in_the_past(action: str, poll: Poll, closing: datetime, user) -> ActionResult:
    return refused(action, _("%(time)s has passed already: a poll's closing time must be in the future. Nothing was "
                             "changed.", time=local_time(closing, user.time_zone)), group_id=poll.group_id)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- the commands ---------------------------------------------------------------------------

def close(reply: Reply) -> ActionResult:
    retried = poll_service.done_by_message(reply.target_id, "poll_closed", reply.inbound_id)  # closed it already
    poll, refusal = _poll(reply, "poll_close", open_=not retried)
    if refusal:
        return refusal
    return _act(reply, poll, "poll_close", would=f"would close the poll “{poll.title}”",
                preview=_("Close the poll “%(title)s”", title=poll.title),
                call=lambda: None if retried else poll_service.close_poll(
                    actor_id=reply.user.id, poll_id=poll.id, inbound_message_id=reply.inbound_id),
                subject=_("Closed: %(title)s", title=poll.title), done=f"closed poll {poll.id}", paragraphs=lambda p: [
                    _("“%(title)s” is closed; no more votes are taken. Everyone who could vote gets the results by "
                      "email.", title=p.title),
                    _("Reply to the “closed” email with “outcome: …” on the first line to say what was decided, or with "
                      "“reopen 3 days” to take votes again.")])


def extend(reply: Reply) -> ActionResult:
    poll, refusal = _poll(reply, "poll_extend", open_=True)
    if refusal:
        return refusal
    user = reply.user
    now = _now()
    try:
        closing = _when(parse(reply.text)[1], base=poll.closing_at if poll.closing_at.tzinfo else poll.closing_at.replace(tzinfo=timezone.utc),
                        now=now, zone=user.time_zone, command="extend")
    except ClosingError as error:
        return refused("poll_extend", _("%(error)s Nothing was changed.", error=str(error)), group_id=poll.group_id)
    if closing is None:
        return refused("poll_extend", _("Say by how long, or until when: reply with “extend 2 days” or “extend to "
                                        "12 Dec 18:00” (in your time zone). Nothing was changed."),
                       group_id=poll.group_id)
    if closing <= now:
        return _in_the_past("poll_extend", poll, closing, user)
    if reply.dry_run:
        return ActionResult("processed", "poll_extend", f"would move the closing time of “{poll.title}” to "
                                                        f"{local_time(closing, user.time_zone)}", group_id=poll.group_id,
                            preview=_("Move the closing time of “%(title)s” to %(time)s", title=poll.title,
                                      time=local_time(closing, user.time_zone)))
    if not poll_service.done_by_message(poll.id, "poll_edited", reply.inbound_id):  # a retried job extends once
        try:
            poll = poll_service.change_closing(actor_id=user.id, poll_id=poll.id, closing_at=closing, now=now,
                                               inbound_message_id=reply.inbound_id)
        except DomainError as error:
            return _failed("poll_extend", poll, error)
    _confirm(reply, poll, _("New closing time: %(title)s", title=poll.title), [
        _("“%(title)s” now closes on %(time)s.", title=poll.title, time=local_time(poll.closing_at, user.time_zone))])
    return ActionResult("processed", "poll_extend", f"poll {poll.id} closes at {poll.closing_at.isoformat()}",
                        group_id=poll.group_id)


def remind(reply: Reply) -> ActionResult:
    poll, refusal = _poll(reply, "poll_remind", open_=True)
    if refusal:
        return refusal
    message = _first_line(reply.text)[1]
    if reply.dry_run:
        return ActionResult("processed", "poll_remind", f"would remind everyone who has not voted in “{poll.title}”",
                            group_id=poll.group_id,
                            preview=_("Remind everyone who has not voted in “%(title)s”", title=poll.title))
    if poll_service.done_by_message(poll.id, "poll_reminder", reply.inbound_id):
        count = None  # a retried job: the reminder went out already
    else:
        try:
            count = poll_service.remind(actor_id=reply.user.id, poll_id=poll.id, message=message,
                                        inbound_message_id=reply.inbound_id)
        except DomainError as error:
            return _failed("poll_remind", poll, error)
    if count is None and message:
        reminding = _("We are reminding everyone who has not voted yet in “%(title)s”, with your message.",
                      title=poll.title)
    elif count is None:
        reminding = _("We are reminding everyone who has not voted yet in “%(title)s”.", title=poll.title)
    elif message:
        reminding = _n("We are reminding the one person who has not voted yet in “%(title)s”, with your message.",
                       "We are reminding the %(num)s people who have not voted yet in “%(title)s”, with your message.",
                       count, title=poll.title)
    else:
        reminding = _n("We are reminding the one person who has not voted yet in “%(title)s”.",
                       "We are reminding the %(num)s people who have not voted yet in “%(title)s”.",
                       count, title=poll.title)
    _confirm(reply, poll, _("Reminder sent: %(title)s", title=poll.title), [
        reminding, _("The reminder names nobody, and nobody is told who was reminded.")])
    return ActionResult("processed", "poll_remind", f"reminded {count if count is not None else 'already'} in poll {poll.id}",
                        group_id=poll.group_id)


def remind_person(reply: Reply) -> ActionResult:
    """"remind Alice" / "remind alice@example.org": one person who has not voted (the page's "Remind one person")."""
    poll, refusal = _poll(reply, "poll_remind", open_=True)
    if refusal:
        return refusal
    who = parse(reply.text)[1].group(1).strip()
    message = _first_line(reply.text)[1]
    if reply.dry_run:
        return ActionResult("processed", "poll_remind", f"would remind {who} in “{poll.title}”", group_id=poll.group_id,
                            preview=_("Remind %(name)s in “%(title)s”", name=who, title=poll.title))
    if poll_service.done_by_message(poll.id, "poll_reminder", reply.inbound_id):
        name = who  # a retried job: the reminder went out already
    else:
        try:
            name = poll_service.remind_person(actor_id=reply.user.id, poll_id=poll.id, who=who, message=message,
                                              inbound_message_id=reply.inbound_id).display_name
        except DomainError as error:
            return _failed("poll_remind", poll, error)
    _confirm(reply, poll, _("Reminder sent: %(title)s", title=poll.title), [
        _("We are reminding %(name)s to vote in “%(title)s”, with your message.", name=name, title=poll.title)
        if message else _("We are reminding %(name)s to vote in “%(title)s”.", name=name, title=poll.title),
        _("They get the poll's reminder email, from you; nobody else is told.")])
    return ActionResult("processed", "poll_remind", f"reminded one person in poll {poll.id}", group_id=poll.group_id)


def reopen(reply: Reply) -> ActionResult:
    poll, refusal = _poll(reply, "poll_reopen")
    if refusal:
        return refusal
    user = reply.user
    now = _now()
    try:
        closing = _when(parse(reply.text)[1], base=now, now=now, zone=user.time_zone, command="reopen")
    except ClosingError as error:
        return refused("poll_reopen", _("%(error)s Nothing was changed.", error=str(error)), group_id=poll.group_id)
    if closing is None:
        return refused("poll_reopen", _("Say until when it takes votes again: reply with “reopen 3 days” or "
                                        "“reopen until 12 Dec 18:00” (in your time zone). Nothing was changed."),
                       group_id=poll.group_id)
    if closing <= now:
        return _in_the_past("poll_reopen", poll, closing, user)
    retried = poll_service.done_by_message(poll.id, "poll_reopened", reply.inbound_id)  # reopened it already
    if not retried and not policy.can_reopen_poll(user, poll):
        why = (_("“%(title)s” can't be reopened. It is still open. Nothing was changed.", title=poll.title)
               if poll.closed_at is None else
               _("“%(title)s” can't be reopened. Anonymous polls can't be reopened: their votes were unlinked from "
                 "voters at closing. Nothing was changed.", title=poll.title))
        return refused("poll_reopen", why, group_id=poll.group_id)
    return _act(reply, poll, "poll_reopen",
                would=f"would reopen “{poll.title}” until {local_time(closing, user.time_zone)}",
                preview=_("Reopen “%(title)s” until %(time)s", title=poll.title, time=local_time(closing, user.time_zone)),
                call=lambda: None if retried else poll_service.reopen_poll(
                    actor_id=user.id, poll_id=poll.id, closing_at=closing, now=now, inbound_message_id=reply.inbound_id),
                subject=_("Reopened: %(title)s", title=poll.title), done=f"reopened poll {poll.id}", paragraphs=lambda p: [
                    _("“%(title)s” takes votes again until %(time)s.", title=p.title,
                      time=local_time(p.closing_at, user.time_zone))])


_REVIEW = re.compile(r"^review(?:\s+(?:on|date|by))?\s*:?\s+(\S.*)$", re.IGNORECASE)
_SLOT = re.compile(r"^(?:slot\s+)?#?(\d{1,2})\b\s*[.,:;)\-–—]?\s*(.*)$", re.IGNORECASE | re.DOTALL)


def outcome(reply: Reply) -> ActionResult:
    poll, refusal = _poll(reply, "poll_outcome")
    if refusal:
        return refusal
    user = reply.user
    first, rest = _first_line(reply.text)
    statement = "\n".join(part for part in ((parse(reply.text)[1].group(1) or "").strip(), rest) if part).strip()
    kind = get_type(poll.poll_type)
    option = None
    if kind.outcome_names_option:
        match = _SLOT.match(statement)
        options = ordered_options(poll)
        if match is None or not 1 <= int(match.group(1)) <= len(options):
            return refused("poll_outcome", _("Start a meeting poll's outcome with the number of the time you chose, "
                                             "from 1 to %(count)s, for example “outcome: 2 See you there”. Nothing was "
                                             "changed.", count=len(options)), group_id=poll.group_id)
        option = options[int(match.group(1)) - 1]
        when = local_slot(option.starts_at, user.time_zone, option.duration_minutes)
        statement = match.group(2).strip() or _("We meet on %(time)s.", time=when)
    review_at = None
    lines = statement.splitlines()
    if lines and (match := _REVIEW.match(lines[-1].strip())):
        try:
            review_at = poll_service.check_review_at(
                parse_closing(match.group(1), now=_now(), time_zone=user.time_zone), _now())
        except ClosingError:
            return refused("poll_outcome", _("We could not read “%(date)s” as a review date. Write for example "
                                             "“review: 1 March 2027” on the last line. Nothing was changed.",
                                             date=match.group(1)[:80]), group_id=poll.group_id)
        except DomainError as error:
            return refused("poll_outcome", _("%(error)s Nothing was changed.", error=error.message),
                           group_id=poll.group_id)
        statement = "\n".join(lines[:-1]).strip()
    if not statement:
        return refused("poll_outcome", _("Write what was decided after “outcome:”, for example “outcome: We buy the "
                                         "mower in March.” Nothing was changed."), group_id=poll.group_id)
    if reply.dry_run:
        return ActionResult("processed", "poll_outcome", f"would publish the outcome of “{poll.title}”",
                            group_id=poll.group_id, preview=_("Publish the outcome of “%(title)s”", title=poll.title))
    existing = poll_service.latest_outcome(poll.id)
    if existing is None or existing.statement != statement or existing.author_id != user.id:
        try:
            poll_service.set_outcome(actor_id=user.id, poll_id=poll.id, statement=statement,
                                     option_id=option.id if option else None)
        except DomainError as error:
            return _failed("poll_outcome", poll, error)
    if review_at is not None:
        poll_service.set_review(actor_id=user.id, poll_id=poll.id, review_at=review_at)
    _confirm(reply, poll, _("Outcome published: %(title)s", title=poll.title), [
        _("The outcome of “%(title)s” is published, and everyone who could vote gets it by email:", title=poll.title),
        "\n".join("> " + line for line in statement.splitlines())] + (
        [_("You will be reminded to review it on %(time)s.", time=local_time(review_at, user.time_zone))]
        if review_at else []))
    return ActionResult("processed", "poll_outcome", f"outcome of poll {poll.id}", group_id=poll.group_id)


def unvote(reply: Reply) -> ActionResult:
    """Any voter's own: take back the vote (the poll page's "Remove my vote")."""
    poll = db.session.get(Poll, reply.target_id)
    if poll is None or not policy.can_view_poll(reply.user, poll):
        return refused("unvote", _("The poll you replied to no longer exists, so nothing was changed."))
    if not policy.can_remove_vote(reply.user, poll):
        why = (_("There is no vote of yours to remove in “%(title)s”: it is not open any more. Nothing was changed.",
                 title=poll.title) if not poll.is_open else
               _("There is no vote of yours to remove in “%(title)s”: you have not voted in it. Nothing was changed.",
                 title=poll.title))
        return refused("unvote", why, group_id=poll.group_id)
    return _act(reply, poll, "unvote", would=f"would remove your vote in “{poll.title}”",
                preview=_("Remove your vote in “%(title)s”", title=poll.title),
                call=lambda: poll_service.remove_vote(actor_id=reply.user.id, poll_id=poll.id) and None,
                subject=_("Vote removed: %(title)s", title=poll.title), done=f"removed a vote in poll {poll.id}",
                paragraphs=lambda p: [
                    _("Your vote in “%(title)s” is removed and no longer counts. To vote again before it closes, "
                      "reply with your vote on the first line.", title=p.title)])


COMMANDS: dict[str, Handler] = {"close": close, "extend": extend, "remind": remind, "reopen": reopen,
                                "outcome": outcome, "unvote": unvote}
COMMANDS["remind_person"] = remind_person
