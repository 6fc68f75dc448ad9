"""The calendar part of a meeting poll's mail: the chosen slot as this member's invitation
(METHOD:REQUEST, after an outcome) or its withdrawal (METHOD:CANCEL, after a reopen or a
withdrawn outcome). The SEQUENCE is the one the event recorded, so a retried fan-out sends the
same invitation; the ORGANIZER is the member's own reply address for the poll, where their
calendar's Accept / Tentative / Decline comes back (`mail/meetings.py`)."""
from __future__ import annotations

from flask import current_app

from ..polls.calendar import invitation
from .addresses import reply_address

CALENDAR_KINDS = {"outcome_created": "REQUEST", "meeting_cancelled": "CANCEL"}


def calendar_for(ctx, user) -> tuple[str, str] | None:
    """(METHOD, iCalendar text) for `user`'s copy of ctx.event, or None (no slot, no invitation)."""
    method = CALENDAR_KINDS.get(ctx.event.kind)
    data = ctx.event.data or {}
    if method is None or ctx.poll is None or "ics_sequence" not in data:
        return None
    option = next((o for o in ctx.shared.get("options", ()) if o.id == data.get("option_id")), None)
    if option is None or option.starts_at is None:
        return None
    config = current_app.config
    text = invitation(
        ctx.poll, option, ctx.outcome, method=method, sequence=int(data["ics_sequence"]),
        stamp=ctx.event.created_at, organizer=reply_address(user, "poll", ctx.poll.id),
        organizer_name=ctx.group.name, attendee=user.email, attendee_name=user.display_name,
        domain=config["MAIL_DOMAIN"], base_url=config["BASE_URL"])
    return method, text
