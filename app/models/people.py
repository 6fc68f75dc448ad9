"""People in one discussion: guests invited to a single thread, and who was told of a thread or poll directly."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .users import User


class ThreadGuest(db.Model):
    """Someone invited by email into one thread (not its group): they read and reply there, nothing else.

    A guest is the same kind of person as a poll's guest voter (an account, unverified until they sign
    in, made by services.guests.guest_account); removing one sets `removed_at`, and from then on the
    policy module lets them do nothing in the thread."""

    __tablename__ = "thread_guests"
    __table_args__ = (UniqueConstraint("discussion_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class DirectNotice(db.Model):
    """One person told of a thread or poll at once because its author named them (or a subgroup, or
    the whole group) when starting it; the thread page lists them with the time."""

    __tablename__ = "direct_notices"
    __table_args__ = (Index("ix_direct_notices_discussion", "discussion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int | None] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"))
    poll_id: Mapped[int | None] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # How they were named: their address, "@handle" of a subgroup, or "@handle" of the whole group.
    via: Mapped[str] = mapped_column(String(254))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
