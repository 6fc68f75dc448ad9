"""Outgoing webhooks: a group's admins have chosen kinds of event posted to another service, and
each delivery of one event to one webhook, with its attempts and answer."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

# What a webhook may be told of (event kinds), and the shapes of body the receivers understand.
WEBHOOK_EVENTS = ("discussion_started", "comment_posted", "poll_created", "poll_closed", "outcome_created")
WEBHOOK_FORMATS = ("json", "slack", "discord", "teams", "matrix")


class Webhook(db.Model):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    # The address is sealed with the data key (app/storage.py): a Slack or Discord webhook address is
    # itself a secret, letting anyone who has it post to the channel. Its host is kept plain, for pages and logs.
    sealed_url: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(253))
    format: Mapped[str] = mapped_column(String(10), default="json")
    events: Mapped[list] = mapped_column(JSON, default=list)
    # The HMAC key of the json format's signature, sealed with the data key (app/storage.py).
    secret: Mapped[str] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Failed deliveries in a row (a delivered one resets it); WEBHOOK_DISABLE_AFTER of them disable it.
    failures_in_a_row: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(db.Model):
    """One event posted (or to be posted) to one webhook: queued → sending → delivered, or retrying
    with backoff, or failed once the tries are used up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    webhook: Mapped[Webhook] = relationship()
