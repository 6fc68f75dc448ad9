"""The activity log every action writes, and the notifications it fans out to."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .users import User

# Every kind of event a service may record. Fan-out, emails and digests read these.
EVENT_KINDS = (
    "group_created", "member_joined", "member_left", "member_removed", "role_changed",
    "invitation_sent", "join_requested", "join_approved",
    "discussion_started", "discussion_edited", "discussion_closed", "discussion_reopened",
    "discussion_moved", "discussion_deleted", "discussion_pinned",
    "comment_posted", "comment_edited", "comment_deleted", "reaction_added",
    "poll_created", "poll_edited", "stance_created", "stance_removed", "poll_closing_soon", "poll_closed",
    "poll_reopened", "outcome_created", "poll_reminder", "poll_deleted",
)
EVENT_KINDS += ("outcome_review_due",)  # an outcome's review date has come: its author is reminded
EVENT_KINDS += ("meeting_cancelled",)  # a meeting poll's calendar invitation withdrawn (METHOD:CANCEL)


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_discussion_id_id", "discussion_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    discussion_id: Mapped[int | None] = mapped_column(ForeignKey("discussions.id"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    poll_id: Mapped[int | None] = mapped_column(ForeignKey("polls.id"), index=True)
    # NULL for anonymous votes: the log must not link a voter to an anonymous poll's stance.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship()


class Notification(db.Model):
    """In-app notification (the bell); emails are decided from the same fan-out."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # mention | reply | thread | group | poll | admin
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
