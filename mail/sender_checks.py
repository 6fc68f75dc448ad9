"""A reply to a "Did you send this?" mail (`app/services/sender_proof.py`): `confirm` acts.

The reply address is the proof: it was mailed to the member's own address and nowhere else,
so whoever writes to it reads that mailbox. Anything but `confirm` changes nothing and says so.
"""
from __future__ import annotations

import re

from app.extensions import db
from app.i18n import _
from app.models import SenderConfirmation
from app.services import sender_proof

from .reply import ActionResult, Reply, refused

_CONFIRM = re.compile(r"^\W*(confirm|confirmed|yes)\b", re.IGNORECASE)


def reply_to_confirmation(reply: Reply) -> ActionResult:
    row = db.session.get(SenderConfirmation, reply.target_id)
    if row is None or reply.user is None or row.user_id != reply.user.id:
        return refused("confirmation", _("There is nothing waiting for your confirmation at this address."))
    if not _CONFIRM.match(reply.text or ""):
        return refused("confirmation", _("Nothing was confirmed: to confirm that you sent the message, reply with "
                                         "the single word “confirm” on the first line, or use the link in our email."))
    if reply.dry_run:
        return ActionResult("processed", "confirmation", f"would confirm stored message {row.inbound_id}")
    try:
        sender_proof.confirm(row)
    except sender_proof.AlreadyDecided as decided:
        return refused("confirmation", decided.message)
    return ActionResult("processed", "confirmation", f"confirmed stored message {row.inbound_id}")
