"""Confirmation mails for actions taken by email: the member who never opens a browser hears
what was done (a vote recorded, a command applied, a thread started) and how to undo or change it.

A confirmation answers the member's own message, so it is sent whatever their volume settings
(an "unsubscribe" must still be confirmed), with `Auto-Submitted: auto-replied`, and at most once
per inbound message (the dedupe key is the stored message's id).
"""
from __future__ import annotations

from app.email import messages
from app.extensions import db
from app.models import User
from app.tokens import random_token


def send(reply, *, kind: str, context: dict, user: User | None = None, reply_to: str | None = None,
         to: str | None = None) -> None:
    """Queue one confirmation for `reply` (nothing in a dry run); `kind` names its function in
    app/email/messages.py (vote_recorded, command_done, help)."""
    if reply.dry_run:
        return
    user = user or reply.user  # None only for someone declining an invitation without an account
    key = f"confirm:{reply.inbound_id}" if reply.inbound_id is not None else f"confirm:x{random_token(12)}"
    CONFIRMATIONS[kind](to=to or user.email, user=user, dedupe_key=key, context=context, reply_to=reply_to,
                        original=reply.original)
    db.session.commit()


CONFIRMATIONS = {"vote_recorded": messages.vote_recorded, "command_done": messages.command_done, "help": messages.help}


def done(reply, *, subject: str, paragraphs: list[str], link: str | None = None, user: User | None = None,
         reply_to: str | None = None, to: str | None = None) -> None:
    """The generic "done" mail (templates/email/command_done): a subject and a few paragraphs."""
    send(reply, kind="command_done", user=user, reply_to=reply_to, to=to,
         context={"subject": subject, "paragraphs": [p for p in paragraphs if p], "link": link})
