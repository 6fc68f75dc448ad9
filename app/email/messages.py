"""One named function per kind of mail Quorum sends (templates/email/<kind>/), each queueing it
in the caller's transaction; the commit hands it to a send job. Nothing else queues mail.

The notifications about events (a thread started, a comment, a poll's news) are built per
recipient in `notifications.py` and queued here in bulk by `notifications_about`.
"""
from __future__ import annotations

from dataclasses import replace

from datetime import datetime

from flask import current_app

from ..models import OutboundMessage, User
from ..timezones import local_time
from .headers import ListHeaders, MailOptions, Original
from .outbox import Outgoing, queue_message, queue_messages
from ..i18n import LOCALES, _, locale_for
from .render import Later, Rendered


def _url(path: str) -> str:
    return current_app.config["BASE_URL"] + path


# --- signing in and accounts ---------------------------------------------------------------------

def sign_in(*, to: str, user: User | None, token_id: int, link: str, code: str, minutes: int) -> OutboundMessage | None:
    """The sign-in link and code, in one mail (sent even to a suspended address: it was asked for)."""
    return queue_message(Outgoing(
        kind="sign_in", to=to, user=user, dedupe_key=f"sign_in:{token_id}", always_send=True,
        context={"link": link, "code": code, "user": user, "minutes": minutes}))


def account_deleted(*, to: str, user_id: int, name: str, removed_content: bool,
                    locale: str | None = None) -> OutboundMessage | None:
    """The last mail to an erased account's address (no user: the account is gone when it is sent), in
    `locale` (the caller's `locale_for(user)`, taken before the erasure), else DEFAULT_LOCALE."""
    return queue_message(Outgoing(
        kind="account_deleted", to=to, dedupe_key=f"account_deleted:{user_id}", locale=locale,
        context={"name": name, "removed_content": removed_content}))


def sender_confirmation(*, confirmation_id: int, to: str, user: User | None, summary: str, link: str,
                        hours: int, reply_to: str | None, original: Original) -> OutboundMessage | None:
    """"Did you send this?": to the member's own address, about mail in their name that nothing
    authenticated, threaded under that mail (if they sent it, it is in their Sent folder). Its
    subject keeps the question ("Did you send this? <their subject>"): a forgery is not in their
    mailbox to thread under, and the inbox list must show what is asked. Replying `confirm` (to
    the token address) or the link's button acts; nothing else."""
    return queue_message(Outgoing(
        kind="sender_confirmation", to=to, user=user, dedupe_key=f"sender_confirmation:{confirmation_id}",
        always_send=True,
        context={"user": user, "summary": summary, "link": link, "hours": hours, "subject": original.subject},
        options=replace(MailOptions(reply_to=reply_to).answering(original), subject=None)))


def address_proof(*, proof_id: int, to: str, user: User, purpose: str, link: str, hours: int) -> OutboundMessage | None:
    """The link that proves `to` is the member's: as a second address (alias) or their new primary one."""
    return queue_message(Outgoing(
        kind="address_proof", to=to, dedupe_key=f"address_proof:{proof_id}", always_send=True,
        locale=locale_for(user),  # not user=: the address is not the member's yet (no VERP, no suspension)
        context={"user": user, "purpose": purpose, "email": to, "link": link, "hours": hours}))


def address_changed(*, user: User, old: str, new: str, change_id: int) -> OutboundMessage | None:
    """To the old address, after the member proved a new primary one: so a takeover cannot be silent."""
    return queue_message(Outgoing(
        kind="address_changed", to=old, dedupe_key=f"address_changed:{change_id}", always_send=True,
        locale=locale_for(user),  # in the member's language, though the address is no longer theirs
        context={"user": user, "old": old, "new": new, "link": _url("/account/addresses")}))


def alias_cut_off(*, user: User, alias: str, alias_id: int) -> OutboundMessage | None:
    """To the owner of an alias a group admin attached without the owner's proof, now removed."""
    return queue_message(Outgoing(
        kind="alias_cut_off", to=user.email, user=user, dedupe_key=f"alias_cut_off:{alias_id}", always_send=True,
        context={"user": user, "alias": alias, "link": _url("/account/addresses")}))


# --- groups ----------------------------------------------------------------------------------------

def invitation(*, invitation_id: int, send_count: int, to: str, group, inviter: User, message: str, link: str,
               reply_to: str) -> OutboundMessage | None:
    """An invitation to join a group; replying to it accepts."""
    return queue_message(Outgoing(
        kind="invitation", to=to, dedupe_key=f"invitation:{invitation_id}:{send_count}",
        context={"group": group, "inviter": inviter, "message": message, "link": link},
        options=MailOptions(reply_to=reply_to)))


def thread_guest_invitation(*, guest_id: int, invited_at: datetime, to: str, user: User, inviter: User, discussion,
                            group, message: str, thread_url: str, sign_in_url: str,
                            reply_to: str) -> OutboundMessage | None:
    """An invitation into one thread as its guest: the thread itself, a sign-in link; replying posts in it."""
    from ..rendering import markdown_to_html

    return queue_message(Outgoing(
        kind="thread_guest_invitation", to=to, user=user,
        dedupe_key=f"thread_guest_invitation:{guest_id}:{invited_at.isoformat()}",
        context={"inviter": inviter, "discussion": discussion, "group": group, "message": message,
                 "thread_body_html": markdown_to_html(discussion.body), "thread_url": thread_url,
                 "sign_in_url": sign_in_url},
        options=MailOptions(reply_to=reply_to)))


def join_request(*, request_id: int, admin: User, group, requester: User, message: str) -> OutboundMessage | None:
    """Tell one admin that someone asked to join."""
    return queue_message(Outgoing(
        kind="join_request", to=admin.email, user=admin, dedupe_key=f"join_request:{request_id}:{admin.id}",
        context={"group": group, "requester": requester, "message": message, "admin": admin,
                 "link": _url(f"/g/{group.handle}/members")}))


def join_approved(*, request_id: int, member: User, group) -> OutboundMessage | None:
    """Tell a member their request to join was approved."""
    return queue_message(Outgoing(
        kind="join_approved", to=member.email, user=member, dedupe_key=f"join_approved:{request_id}",
        context={"group": group, "member": member, "link": _url(f"/g/{group.handle}")}))


def held_for_approval(*, admin: User, group, inbound_id: int | None, sender: str, subject: str,
                      preview: str = "") -> OutboundMessage | None:
    """Tell one admin that mail from an unknown sender waits for them, with the start of its text."""
    return queue_message(Outgoing(
        kind="held_for_approval", to=admin.email, user=admin, dedupe_key=f"held:{inbound_id}:{admin.id}",
        context={"user": admin, "group": group, "sender": sender, "subject": subject, "preview": preview,
                 "link": _url(f"/g/{group.handle}/held")}))


# --- operating the instance ----------------------------------------------------------------------

def account_merge(*, merge_id: int, to: str, user: User, other: str, kept: str, link: str, days: int) -> OutboundMessage | None:
    """A site admin proposes merging two accounts: each address gets its own link (proof of its mailbox)."""
    return queue_message(Outgoing(
        kind="account_merge", to=to, user=user, dedupe_key=f"account_merge:{merge_id}:{to}", always_send=True,
        context={"user": user, "email": to, "other": other, "kept": kept, "link": link, "days": days}))


def group_deletion_scheduled(*, admin: User, group, due_at: datetime, days: int) -> OutboundMessage | None:
    """Tell a group's admin that a site admin will delete the group, and how to export it first."""
    return queue_message(Outgoing(
        kind="group_deletion_scheduled", to=admin.email, user=admin,
        dedupe_key=f"group_deletion:{group.id}:{admin.id}:{due_at.date().isoformat()}",
        context={"user": admin, "group": group, "days": days, "export_link": _url(f"/g/{group.handle}/export"),
                 "due_local": Later(local_time, due_at, admin.time_zone, "%-d %B %Y, %H:%M")}))


# --- stewardship -----------------------------------------------------------------------------------

def export_ready(*, export_id: int, requester: User, group, link: str, expires_at: datetime,
                 size: int) -> OutboundMessage | None:
    """The download link of a finished group export."""
    return queue_message(Outgoing(
        kind="export_ready", to=requester.email, user=requester, dedupe_key=f"export_ready:{export_id}",
        context={"user": requester, "group": group, "link": link, "size": size,
                 "expires_local": Later(local_time, expires_at, requester.time_zone, "%-d %B %Y, %H:%M")}))


def backup_failed(*, admin: User, what: str, message: str, day: str) -> OutboundMessage | None:
    """Tell one site admin that a backup or its verification failed (once per kind per day)."""
    return queue_message(Outgoing(
        kind="backup_failed", to=admin.email, user=admin, dedupe_key=f"backup_failed:{what}:{day}:{admin.id}",
        context={"user": admin, "what": what, "message": message,
                 "base_url": current_app.config.get("BASE_URL", "")}))


def webhook_disabled(*, admin: User, group, webhook_id: int, host: str, reason: str) -> OutboundMessage | None:
    """Tell one of the group's admins that a webhook kept failing and is now off (once per disabling)."""
    return queue_message(Outgoing(
        kind="webhook_disabled", to=admin.email, user=admin,
        dedupe_key=f"webhook_disabled:{webhook_id}:{admin.id}:{reason[:40]}",
        context={"user": admin, "group": group, "host": host, "reason": reason,
                 "link": _url(f"/g/{group.handle}/webhooks")}))


# --- mailing-list mail -----------------------------------------------------------------------------

def notifications_about(mails: list[Outgoing]) -> list[OutboundMessage | None]:
    """Queue the notifications of one event (built by `notifications.build`): one bulk insert."""
    return queue_messages(mails)


def digest(*, user: User, period_key: str, rendered: Rendered, lists: ListHeaders) -> OutboundMessage | None:
    """One member's digest for one period, with its one-click way out."""
    return queue_message(Outgoing(
        kind="digest", to=user.email, user=user, rendered=rendered, dedupe_key=f"digest:{user.id}:{period_key}",
        # The From name in the member's own language when they chose one (no query per member: a digest batch
        # must not grow its queries with its members); else DEFAULT_LOCALE.
        locale=user.locale if getattr(user, "locale", None) in LOCALES else None,
        options=MailOptions(from_name=Later(lambda: _("Quorum digest")), lists=lists)))


# --- answers to a member's own mail ----------------------------------------------------------------

def inbound_refused(*, to: str, user: User | None, subject: str, reason: str, original: Original,
                    dedupe_key: str) -> OutboundMessage | None:
    """Why a message was not acted on: to the sender, with a null envelope sender (no bounce loops),
    threaded under their message, and sent even to a suspended address (it answers mail just sent)."""
    return queue_message(Outgoing(
        kind="inbound_refused", to=to, dedupe_key=dedupe_key, envelope_from="",
        context={"subject": subject, "reason": reason, "user": user},
        options=MailOptions().answering(original)))


def _confirmation(kind: str, *, to: str, user: User | None, dedupe_key: str, context: dict,
                  reply_to: str | None, original: Original | None) -> OutboundMessage | None:
    """An answer to the member's own message, threaded under it ("Re: <their subject>")."""
    return queue_message(Outgoing(
        kind=kind, to=to, user=user, dedupe_key=dedupe_key, context={"user": user, **context},
        options=MailOptions(reply_to=reply_to).answering(original)))


def vote_recorded(*, to: str, user: User, dedupe_key: str, context: dict, reply_to: str | None = None,
                  original: Original | None = None) -> OutboundMessage | None:
    """A vote by reply was counted (or not, and why). For an anonymous poll the confirmation never
    repeats the choice or the reason: a stored or forwarded copy must not link them to the voter."""
    if context.get("anonymous"):
        context = {**context, "choice": None, "reason": None}
    return _confirmation("vote_recorded", to=to, user=user, dedupe_key=dedupe_key, context=context,
                         reply_to=reply_to, original=original)


def command_done(*, to: str, user: User | None, dedupe_key: str, context: dict, reply_to: str | None = None,
                 original: Original | None = None) -> OutboundMessage | None:
    """A command by reply was carried out (unsubscribe, mute, a new thread, …)."""
    return _confirmation("command_done", to=to, user=user, dedupe_key=dedupe_key, context=context,
                         reply_to=reply_to, original=original)


def help(*, to: str, user: User, dedupe_key: str, context: dict,  # noqa: A001
         reply_to: str | None = None, original: Original | None = None) -> OutboundMessage | None:
    """What can be done by reply, in answer to "help"."""
    return _confirmation("help", to=to, user=user, dedupe_key=dedupe_key, context=context,
                         reply_to=reply_to, original=original)
