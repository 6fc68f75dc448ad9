"""Groups and who belongs to them: memberships, invitations, join requests, sender rules."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .users import User

PRIVACIES = ("open", "closed", "secret")
ROLES = ("admin", "member")
# How much mail a member gets from a group or thread.
VOLUMES = ("all", "digest", "mentions", "mute")


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # Also the local part of the group's email address.
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    privacy: Mapped[str] = mapped_column(String(10), default="closed")
    members_can_start_threads: Mapped[bool] = mapped_column(Boolean, default=True)
    members_can_create_polls: Mapped[bool] = mapped_column(Boolean, default=True)
    members_can_invite: Mapped[bool] = mapped_column(Boolean, default=False)
    members_can_edit_own_comments: Mapped[bool] = mapped_column(Boolean, default=True)
    members_can_delete_own_comments: Mapped[bool] = mapped_column(Boolean, default=True)
    admins_can_edit_others_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    admins_can_delete_others_comments: Mapped[bool] = mapped_column(Boolean, default=True)
    members_can_remove_own_content: Mapped[bool] = mapped_column(Boolean, default=False)
    admins_require_2fa: Mapped[bool] = mapped_column(Boolean, default=False)
    # An open group is in the directory of open groups (/groups) unless its admins opt out.
    listed_in_directory: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    join_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A site admin scheduled the group's deletion for this time (its admins were told; they can export
    # until then, and a site admin can cancel); deletion_claimed_at: the job that deletes it started.
    deletion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deletion_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of members who never chose one (pages and mail); None: the browser's, else DEFAULT_LOCALE.
    locale: Mapped[str | None] = mapped_column(String(16))

    parent: Mapped["Group | None"] = relationship(remote_side=[id], back_populates="subgroups")
    subgroups: Mapped[list["Group"]] = relationship(back_populates="parent")
    memberships: Mapped[list["Membership"]] = relationship(back_populates="group", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Group {self.handle}>"


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10), default="member")
    volume: Mapped[str] = mapped_column(String(10), default="all")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What the member does in the group ("Treasurer"), set by its admins; shown beside their name.
    title: Mapped[str | None] = mapped_column(String(60))

    group: Mapped[Group] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Invitation(db.Model):
    """An emailed invitation; the address gets nothing else from us until it accepts."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(10), default="member")
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    send_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    group: Mapped[Group] = relationship()

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class JoinRequest(db.Model):
    __tablename__ = "join_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(10))  # approved | ignored
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    group: Mapped[Group] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class SenderRule(db.Model):
    """An admin's decision about mail to the group's address from an unknown sender."""

    __tablename__ = "sender_rules"
    __table_args__ = (UniqueConstraint("group_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    rule: Mapped[str] = mapped_column(String(10))  # allow | block
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
