"""Meeting polls as calendar invitations: the invitation a meeting's outcome sends (its SEQUENCE,
REQUEST or CANCEL) and each member's answer to it (accepted, tentative, declined)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .users import User

ATTENDANCE = ("accepted", "tentative", "declined")
INVITATION_METHODS = ("REQUEST", "CANCEL")


class MeetingInvitation(db.Model):
    """The one calendar event a meeting poll's outcome becomes: one UID for the poll's life, and
    the SEQUENCE of the last invitation (or cancellation) sent, which each change increments."""

    __tablename__ = "meeting_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), unique=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    method: Mapped[str] = mapped_column(String(10), default="REQUEST")  # REQUEST | CANCEL
    outcome_id: Mapped[int | None] = mapped_column(ForeignKey("outcomes.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingAttendance(db.Model):
    """A member's answer to the invitation, from their calendar's iMIP REPLY (the latest one)."""

    __tablename__ = "meeting_attendances"
    __table_args__ = (UniqueConstraint("poll_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10))  # accepted | tentative | declined
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # the invitation's SEQUENCE it answers
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    replied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
