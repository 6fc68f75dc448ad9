"""Commands by reply, and replies to invitations.

A reply whose first line is one of these words (any case, a trailing "." or "!" allowed) is a
command, whatever it was a reply to:

    unsubscribe          no more mail from this group (what List-Unsubscribe's mailto sends)
    subscribe            every message from this group again
    mute                 no more mail about this thread
    digest [daily|weekly]  this group as a digest (and your digest schedule daily or weekly)
    digest off           no more digests (what a digest's List-Unsubscribe mailto sends)
    help                 this list, by mail
    join                 accept an invitation (any reply to an invitation accepts it)

Each is done through the service the web's footer links and settings pages use, and confirmed by
mail. A reply to an invitation accepts it, unless its first line declines ("no", "no thanks",
"decline", "unsubscribe").
"""
from __future__ import annotations

import re
from functools import lru_cache

from flask import current_app

from app import policy
from app.email.addresses import reply_address
from app.extensions import db
from babel.dates import get_day_names

from app.i18n import _, _l, _lp, _n, current_locale, reply_words
from app.models import Comment, Discussion, Group, Invitation, Membership, Poll
from app.services import digests, invitations, notifications, subscriptions
from app.services.errors import DomainError
from app.timezones import known_name
from sqlalchemy import select

from . import confirm
from .reply import ActionResult, Handler, Reply, refused

DECLINES = {"no", "no thanks", "no thank you", "decline", "unsubscribe", "stop"}

# The words, in every shipped language: catalog entries in the context "reply word" (docs/TRANSLATING.md).
COMMAND_WORDS = ("unsubscribe", "subscribe", "mute", "digest", "help", "join")
DIGEST_ARGUMENTS = ("daily", "weekly", "off")
_CATALOG = (  # listed so that extraction puts each in the catalog; read through app.i18n.reply_words
    _lp("reply word", "unsubscribe"), _lp("reply word", "subscribe"), _lp("reply word", "mute"),
    _lp("reply word", "digest"), _lp("reply word", "help"), _lp("reply word", "join"),
    _lp("reply word", "daily"), _lp("reply word", "weekly"), _lp("reply word", "off"),
    _lp("reply word", "decline"),
)
_ONE_WORD = re.compile(r"^[^\W\d_]+$")


def command_words() -> tuple[str, ...]:
    """Every English command word a reply's first line may be (here and in mail/polladmin.py)."""
    from .polladmin import VERBS

    return COMMAND_WORDS + DIGEST_ARGUMENTS + VERBS


def phrase(line: str) -> str:
    """A first line as it is compared: casefolded, spaces made single, a trailing "." or "!" dropped."""
    return " ".join(line.casefold().split()).rstrip(".!").strip()


@lru_cache(maxsize=1)
def _phrases() -> dict[str, tuple[str, str | None]]:
    """{"stumm": ("mute", None), "digest täglich": ("digest", "daily"), …}: every language's spellings."""
    table: dict[str, tuple[str, str | None]] = {}
    for command in COMMAND_WORDS:
        for word in reply_words(command):
            table.setdefault(word, (command, None))
    for word in reply_words("digest"):
        for argument in DIGEST_ARGUMENTS:
            for spelled in reply_words(argument):
                table.setdefault(f"{word} {spelled}", ("digest", argument))
    return table


def parse(text: str) -> tuple[str, str | None] | None:
    """(command, argument) if the reply's first line is a command, in any shipped language, else None."""
    first = phrase(next((line for line in (text or "").splitlines() if line.strip()), ""))
    if found := _phrases().get(first):
        return found
    word, _space, argument = first.partition(" ")
    if _phrases().get(word) == ("digest", None) and _ONE_WORD.match(argument):
        return "digest", argument  # "digest monthly": answered with what it can be
    return None  # "help me", "mute it": a sentence, not a command


def declines(first_line: str) -> bool:
    """Whether a reply to an invitation says no ("no thanks", "nein danke", "non merci", …)."""
    text = phrase(first_line)
    return text in DECLINES or text in reply_words("decline") or _phrases().get(text) == ("unsubscribe", None)


def _rest(text: str) -> str:
    lines = (text or "").strip().splitlines()
    return "\n".join(lines[1:]).strip()


def _target(reply: Reply) -> tuple[Group | None, Discussion | None]:
    """The group (and thread, if any) the reply was about."""
    if reply.kind == "group":
        return db.session.get(Group, reply.target_id), None
    if reply.kind == "discussion":
        discussion = db.session.get(Discussion, reply.target_id)
    elif reply.kind == "comment":
        comment = db.session.get(Comment, reply.target_id)
        discussion = comment.discussion if comment is not None else None
    elif reply.kind == "poll":
        poll = db.session.get(Poll, reply.target_id)
        if poll is None:
            return None, None
        return poll.group, poll.discussion
    else:
        return None, None
    if discussion is None or discussion.deleted_at is not None:
        return None, None
    return discussion.group, discussion


def _group_url(group: Group) -> str:
    return current_app.config["BASE_URL"] + f"/g/{group.handle}"


def _membership(user, group: Group) -> Membership | None:
    return db.session.scalar(select(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id))


def _ignored_text(reply: Reply) -> list[str]:
    rest = _rest(reply.text)
    if not rest:
        return []
    return [_("The rest of your message was not posted, because its first line was a command. To post it, reply "
              "again without the command on the first line:") + "\n\n" + rest[:2000]]


def _member_group(reply: Reply, action: str) -> tuple[Group | None, ActionResult | None]:
    group, discussion = _target(reply)
    if group is None:
        return None, refused(action, _("What you replied to no longer exists, so nothing was changed."))
    if _membership(reply.user, group) is None and discussion is not None and policy.is_thread_guest(reply.user, discussion):
        return None, refused(action, _("You are a guest of the thread “%(title)s”, not a member of %(group)s: reply "
                                       "with the word mute to get no more email about it. Nothing was changed.",
                                       title=discussion.title, group=group.name), group_id=group.id)
    if _membership(reply.user, group) is None:
        return None, refused(action, _("You are not a member of %(group)s, so it sends you no mail and nothing was "
                                       "changed.", group=group.name), group_id=group.id)
    return group, None


# --- the commands ---------------------------------------------------------------------------

def unsubscribe(reply: Reply) -> ActionResult:
    group, refusal = _member_group(reply, "unsubscribe")
    if refusal:
        return refusal
    if reply.dry_run:
        return ActionResult("processed", "unsubscribe", f"would unsubscribe from {group.handle}",
                            group_id=group.id, preview=_("Unsubscribe from %(group)s", group=group.name))
    notifications.apply_action("unsubscribe_group", {"user_id": reply.user.id, "group_id": group.id})
    confirm.done(reply, subject=_("Unsubscribed from %(group)s", group=group.name),
                 reply_to=reply_address(reply.user, "group", group.id),
                 paragraphs=[_("You will get no more email from %(group)s. You are still a member, and you can read "
                               "the group on its page.", group=group.name),
                             _("Changed your mind? Reply to this email with the word subscribe."), *_ignored_text(reply)],
                 link=_group_url(group))
    return ActionResult("processed", "unsubscribe", f"unsubscribed from group {group.id}", group_id=group.id)


def subscribe(reply: Reply) -> ActionResult:
    group, refusal = _member_group(reply, "subscribe")
    if refusal:
        return refusal
    if reply.dry_run:
        return ActionResult("processed", "subscribe", f"would subscribe to {group.handle}", group_id=group.id,
                            preview=_("Subscribe to %(group)s", group=group.name))
    subscriptions.set_group_volume(reply.user, group.id, "all")
    confirm.done(reply, subject=_("Subscribed to %(group)s", group=group.name),
                 reply_to=reply_address(reply.user, "group", group.id),
                 paragraphs=[_("You will get every new thread, comment and decision in %(group)s by email.",
                               group=group.name), *_ignored_text(reply)], link=_group_url(group))
    return ActionResult("processed", "subscribe", f"subscribed to group {group.id}", group_id=group.id)


def mute(reply: Reply) -> ActionResult:
    group, discussion = _target(reply)
    if group is None:
        return refused("mute", _("What you replied to no longer exists, so nothing was changed."))
    if discussion is None:
        return refused("mute", _("“mute” silences one thread, and this email was not about a thread. To get no more "
                                 "email from %(group)s, reply with the word unsubscribe.", group=group.name),
                       group_id=group.id)
    if not policy.can_view_discussion(reply.user, discussion):
        return refused("mute", _("You can no longer see this thread, so it sends you no mail."), group_id=group.id)
    if reply.dry_run:
        return ActionResult("processed", "mute", f"would mute thread {discussion.id}", group_id=group.id,
                            preview=_("Mute the thread “%(title)s”", title=discussion.title))
    notifications.apply_action("mute_thread", {"user_id": reply.user.id, "discussion_id": discussion.id})
    confirm.done(reply, subject=_("Muted: %(title)s", title=discussion.title),
                 paragraphs=[_("You will get no more email about “%(title)s”, except when someone mentions you or "
                               "replies to you.", title=discussion.title), *_ignored_text(reply)],
                 link=current_app.config["BASE_URL"] + f"/d/{discussion.id}")
    return ActionResult("processed", "mute", f"muted thread {discussion.id}", group_id=group.id)


def digest(reply: Reply) -> ActionResult:
    _command, argument = parse(reply.text) or ("digest", None)
    if argument == "off":
        return digest_off(reply)
    if argument not in (None, "daily", "weekly"):
        return refused("digest", _("“digest %(argument)s” is not something we can do: reply with “digest daily”, "
                                   "“digest weekly” or “digest off”. Nothing was changed.", argument=argument))
    group, refusal = _member_group(reply, "digest")
    if refusal:
        return refusal
    user = reply.user
    frequency = argument or (user.digest_frequency if user.digest_frequency != "off" else "daily")
    if reply.dry_run:
        return ActionResult("processed", "digest", f"would switch {group.handle} to a {frequency} digest",
                            group_id=group.id,
                            preview=(_("Switch %(group)s to a weekly digest", group=group.name) if frequency == "weekly"
                                     else _("Switch %(group)s to a daily digest", group=group.name)))
    try:
        digests.save_settings(user_id=user.id, frequency=frequency, weekday=user.digest_weekday,
                              hour=user.digest_hour, volumes={group.id: "digest"})
    except DomainError as error:
        db.session.rollback()
        return refused("digest", error.message, group_id=group.id)
    hour, zone = f"{user.digest_hour:02d}:00", known_name(user.time_zone)
    if frequency == "weekly":
        subject = _("%(group)s as a weekly digest", group=group.name)
        schedule = _("You will get %(group)s as one weekly digest, every %(weekday)s from %(hour)s (%(zone)s), instead "
                     "of an email per message. Your digests from other groups come at the same time.",
                     group=group.name, weekday=get_day_names("wide", locale=current_locale())[user.digest_weekday],
                     hour=hour, zone=zone)
    else:
        subject = _("%(group)s as a daily digest", group=group.name)
        schedule = _("You will get %(group)s as one daily digest, every day from %(hour)s (%(zone)s), instead of an "
                     "email per message. Your digests from other groups come at the same time.",
                     group=group.name, hour=hour, zone=zone)
    confirm.done(reply, subject=subject,
                 reply_to=reply_address(user, "group", group.id),
                 paragraphs=[schedule,
                             _("To get every message again, reply to this email with the word subscribe."),
                             *_ignored_text(reply)], link=_group_url(group))
    return ActionResult("processed", "digest", f"group {group.id} by {frequency} digest", group_id=group.id)


def digest_off(reply: Reply) -> ActionResult:
    """No more digests: the footer link's service (groups read only by digest then send no email)."""
    group, refusal = _member_group(reply, "digest_off")
    if refusal:
        return refusal
    if reply.dry_run:
        return ActionResult("processed", "digest_off", "would stop digests", group_id=group.id,
                            preview=_("Stop digests"))
    payload = {"user_id": reply.user.id}
    described = notifications.describe_action("digest_off", payload)
    notifications.apply_action("digest_off", payload)
    muted = [g.name for g in described.digest_groups]
    confirm.done(reply, subject=_("No more digests"), reply_to=reply_address(reply.user, "group", group.id),
                 paragraphs=[_("You will get no more digest emails.")
                             + (" " + _n("%(names)s came to you only by digest, so it sends you no email now.",
                                         "%(names)s came to you only by digest, so they send you no email now.",
                                         len(muted), names=", ".join(muted)) if muted else ""),
                             _("To get %(group)s again, reply to this email with the word subscribe (every message) or "
                               "“digest daily”.", group=group.name), *_ignored_text(reply)],
                 link=current_app.config["BASE_URL"] + "/account/email")
    return ActionResult("processed", "digest_off", "digests switched off", group_id=group.id)


# The command words stay as written here in every language (English words are understood from everyone).
def help_text() -> list[str]:
    """The `help` answer's paragraphs, in the reader's language."""
    return [
    _("Reply to any email from Quorum to take part: your reply is posted as a comment in that thread. "
       "Text quoted from earlier emails is left out."),
    _("To vote, reply to a poll's email with your vote on the first line, for example “agree”, "
       "“disagree: too costly”, “2” or “1, 3”; the lines below it are your reason. Each poll email shows "
       "how to vote in it. Reply again to change your vote."),
    _("To start a thread, write to the group's address; the subject is the title. A subject starting "
       "“Proposal:” or “Poll:” starts a decision instead (for a poll, write each option on its own line "
       "starting with “- ”; add a line “Closes: in 3 days” or “Closes: 2026-12-01 17:00” to choose when it closes)."),
    _("Reply with one of these words on the first line to change what you get:\n\n"
    "    unsubscribe     no more email from this group\n"
    "    subscribe       every message from this group again\n"
    "    mute            no more email about this thread\n"
    "    digest daily    this group as one email a day\n"
    "    digest weekly   this group as one email a week\n"
    "    digest off      no more digests\n"
    "    help            this list"),
    _("If you started a poll (or are one of the group's admins), reply to any email about it with one of "
    "these on the first line to run it:\n\n"
    "    close                   close it now\n"
    "    extend 2 days           close it later (or “extend to 12 Dec 18:00”, in your time zone)\n"
    "    remind                  remind everyone who has not voted (the lines below are your message)\n"
    "    remind Alice            remind one person who has not voted (a name or an email address)\n"
    "    reopen 3 days           take votes again in a closed poll (or “reopen until 12 Dec 18:00”)\n"
    "    outcome: %(what)s   after it closed; for a meeting, start with the time's number;\n"
    "                            a last line “review: 1 March 2027” reminds you to review it then",
      what="<" + _("what was decided") + ">"),
    _("To take your own vote back while a poll is open, reply to its email with “remove my vote” (or “unvote”)."),
    _("Where a poll or ranked choice offers “None of the above”, reply with “none” to choose it."),
    ]


def help_(reply: Reply) -> ActionResult:
    group, _discussion = _target(reply)
    if reply.dry_run:
        return ActionResult("processed", "help", "would send the list of commands",
                            preview=_("Send you the list of commands"))
    address = None
    if group is not None and _membership(reply.user, group) is not None:
        address = f"{group.handle}@{current_app.config['MAIL_DOMAIN']}"
    confirm.send(reply, kind="help", context={"paragraphs": help_text(), "group": group, "group_address": address,
                                              "ignored": _ignored_text(reply)})
    return ActionResult("processed", "help", "sent the list of commands", group_id=group.id if group else None)


def join(reply: Reply) -> ActionResult:
    group, _discussion = _target(reply)
    if group is not None and _membership(reply.user, group) is not None:
        if reply.dry_run:
            return ActionResult("processed", "join", "already a member", group_id=group.id)
        confirm.done(reply, subject=_("You are a member of %(group)s", group=group.name),
                     paragraphs=[_("You are already a member of %(group)s; nothing was changed.", group=group.name)],
                     link=_group_url(group))
        return ActionResult("processed", "join", "already a member", group_id=group.id)
    return refused("join", _("To join a group, reply to the invitation you received, or ask one of its admins to "
                             "invite you. Nothing was changed."), group_id=group.id if group else None)


COMMANDS: dict[str, Handler] = {
    "unsubscribe": unsubscribe, "subscribe": subscribe, "mute": mute, "digest": digest, "help": help_, "join": join,
}


# --- replies to invitations -----------------------------------------------------------------

def reply_to_invitation(reply: Reply) -> ActionResult:
    invitation = db.session.get(Invitation, reply.target_id)
    if invitation is None:
        return refused("join", _("This invitation no longer exists."))
    try:
        invitations.check_pending(invitation)
    except DomainError as error:
        return refused("join", error.message, group_id=invitation.group_id)
    group = invitation.group
    if declines(next((line for line in reply.text.splitlines() if line.strip()), "")):
        if not reply.dry_run:
            confirm.done(reply, user=reply.user, to=None if reply.user else invitation.email,
                         subject=_("Not joining %(group)s", group=group.name),
                         paragraphs=[_("You did not join %(group)s. We will not write to you again unless someone "
                                       "invites you. If you change your mind, reply to the invitation with the word "
                                       "join.", group=group.name)])
        return ActionResult("processed", "invitation_declined", "declined by reply", group_id=group.id,
                            preview=_("Decline the invitation to %(group)s", group=group.name))
    if reply.dry_run:
        return ActionResult("processed", "join", f"would join {group.handle}", group_id=group.id,
                            preview=_("Join %(group)s", group=group.name))
    name = reply.sender_name or invitation.email.split("@")[0]
    try:
        user, group = invitations.accept_invitation(invitation=invitation, user_id=reply.user.id if reply.user else None,
                                                    name=name)
    except DomainError as error:
        db.session.rollback()
        return refused("join", error.message, group_id=invitation.group_id)
    domain = current_app.config["MAIL_DOMAIN"]
    confirm.done(reply, user=user, subject=_("Welcome to %(group)s", group=group.name),
                 reply_to=reply_address(user, "group", group.id),
                 paragraphs=[_("You are now a member of %(group)s. You will get its new threads, comments and decisions "
                               "by email, and you can take part by replying: you never need to open a browser.",
                               group=group.name),
                             _("To start a thread, write to %(address)s.", address=f"{group.handle}@{domain}"),
                             _("Reply to this email with the word help for everything you can do by email.")],
                 link=_group_url(group))
    return ActionResult("processed", "join", f"joined group {group.id}", group_id=group.id)
