"""The action layer's router: an authenticated reply becomes something in Quorum, through the
services the web uses (one function, one policy check, one event, whatever the channel).

`dispatch()` looks the reply target's kind up in `HANDLERS`, after checking whether the reply
is a command (`COMMANDS`). Each handler returns an `ActionResult` (`mail/reply.py`); a refusal
carries a reason written for the sender, which the pipeline mails back (rate-limited). To add
an action, write a handler in its own module and name it here.
"""
from __future__ import annotations

from app.extensions import db
from app.i18n import _
from app.services.errors import NotFound

from . import commands, comments, meetings, newthreads, polladmin, sender_checks, votes
from .reply import ActionResult, Handler, Reply, refused

HANDLERS: dict[str, Handler] = {
    "discussion": comments.reply_to_discussion,
    "comment": comments.reply_to_comment,
    "poll": votes.reply_to_poll,
    "invitation": commands.reply_to_invitation,
    "group": newthreads.mail_to_group,
    "confirmation": sender_checks.reply_to_confirmation,
}

# Kinds whose every reply answers the one question they ask (no commands there).
ANSWERS = ("invitation", "confirmation")

# Commands by reply ("unsubscribe", "mute", "digest weekly", "help"…: see mail/commands.py).
COMMANDS: dict[str, Handler] = commands.COMMANDS


def command_of(text: str) -> str | None:
    """The command word if the reply's first line is a known command."""
    parsed = commands.parse(text)
    return parsed[0] if parsed and parsed[0] in COMMANDS else None


def dispatch(reply: Reply) -> ActionResult:
    """Route one authenticated reply to its handler; unknown kinds are refused, never a crash."""
    # A calendar's Accept / Tentative / Decline (iMIP REPLY) is attendance: never a command, a vote or a comment.
    if reply.calendar is not None:
        return meetings.answer_invitation(reply)
    # Any reply to an invitation answers the invitation ("join", or anything else); so for a confirmation.
    if reply.kind not in ANSWERS and (command := command_of(reply.text)) is not None:
        return COMMANDS[command](reply)
    # Poll admin by reply ("close", "extend 2 days", "outcome: …": mail/polladmin.py), before the vote.
    if reply.kind == "poll" and (poll_command := polladmin.command_of(reply)) is not None:
        return poll_command(reply)
    handler = HANDLERS.get(reply.kind)
    if handler is None:
        return ActionResult("rejected", "unknown", _("Replies to a %(kind)s are not handled.", kind=reply.kind),
                            explain=True)
    try:
        return handler(reply)
    except NotFound as error:
        db.session.rollback()
        return refused(reply.kind, error.message)
