"""Mail in both directions: outbound deliveries, stored inbound messages, digests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

OUTBOUND_STATUSES = ("queued", "sending", "sent", "retrying", "failed", "suppressed")
# "deferred": the sender check met a DNS failure; the sweeper hands it back after a while.
INBOUND_STATUSES = ("received", "processing", "deferred", "processed", "held", "rejected", "failed", "discarded")
INBOUND_CLASSES = ("human", "auto_reply", "bounce", "complaint", "loop")


class OutboundMessage(db.Model):
    """One email to one recipient. The unique key makes fan-out and retries idempotent."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "event:42:user:7", "login:15", "digest:7:2026-11-26": one message per key, ever.
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    envelope_from: Mapped[str] = mapped_column(String(254), default="")
    # The rendered message, kept until sent so retries send identical bytes.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last send's claim
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"), index=True)


class InboundMessage(db.Model):
    """A raw message accepted by our SMTP server; stored before we answer 250."""

    __tablename__ = "inbound_messages"
    __table_args__ = (Index("ix_inbound_messages_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    raw_sha256: Mapped[str] = mapped_column(String(64), index=True)
    # Encrypted raw bytes under instance/inbound/<storage_key>.
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    envelope_from: Mapped[str] = mapped_column(String(254), default="")
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    peer: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="received")
    classification: Mapped[str | None] = mapped_column(String(12))
    action: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when a job last took it (a stuck claim ages from here)
    # Set if this is a duplicate of an earlier message (same Message-ID or bytes).
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    # The sender check's verdict in words: "authenticated (dkim example.org)", "not authenticated: …".
    sender_check: Mapped[str | None] = mapped_column(String(255))
    # A group admin chose to post this held stranger's message once, as the stranger's own.
    allowed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SenderConfirmation(db.Model):
    """"Did you send this?": mail from a member's address that nothing authenticated waits for the
    member to confirm from their own mailbox (a reply to a token address, or a link and a button).
    Only the confirmation acts; it is single use and expires."""

    __tablename__ = "sender_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # where we asked: the member's own address
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    summary: Mapped[str] = mapped_column(Text, default="")  # what confirming does, quoting the text
    # Sending services that authenticated the message without being aligned with the From domain
    # ([[method, domain], …]): the member may choose to trust them when confirming.
    vouchers: Mapped[list] = mapped_column(JSON, default=list)
    mailed: Mapped[bool] = mapped_column(Boolean, default=True)  # False: over the rate limit, not asked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DigestDelivery(db.Model):
    """One digest per member per period: the unique key is what prevents doubles."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("user_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    period_key: Mapped[str] = mapped_column(String(32))  # daily:2026-11-26 | weekly:2026-W48
    # Items up to this event id count as delivered.
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="building")  # building | sent | empty
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
