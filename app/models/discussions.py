"""Threads and what hangs off them: comments, reactions, attachments, edit history, reading."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .groups import Group
from .users import User

REACTIONS = ("👍", "❤️", "🎉", "😄", "🤔", "👀")


class Discussion(db.Model):
    __tablename__ = "discussions"
    __table_args__ = (Index("ix_discussions_group_activity", "group_id", "last_activity_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Denormalised so lists show counts without a query per row.
    comments_count: Mapped[int] = mapped_column(Integer, default=0)
    # Where the thread came from: web | email | import
    source: Mapped[str] = mapped_column(String(10), default="web")
    # The inbound message a thread was started from (idempotent processing).
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)

    group: Mapped[Group] = relationship()
    author: Mapped[User | None] = relationship()


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_discussion_created", "discussion_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # One level of replies: a reply's parent is always a top-level comment.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(10), default="web")
    # The inbound message a comment was made from (idempotent processing).
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)

    discussion: Mapped[Discussion] = relationship()
    author: Mapped[User | None] = relationship()
    parent: Mapped["Comment | None"] = relationship(remote_side=[id])


class Reaction(db.Model):
    __tablename__ = "reactions"
    __table_args__ = (UniqueConstraint("user_id", "discussion_id", "comment_id", "emoji", name="uq_reactions_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    emoji: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(db.Model):
    """A file on a thread or comment; bytes live encrypted under instance/, never at a public URL."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discussion_id: Mapped[int | None] = mapped_column(ForeignKey("discussions.id"), index=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    poll_id: Mapped[int | None] = mapped_column(ForeignKey("polls.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Random, unguessable name of the encrypted file under instance/files/.
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Version(db.Model):
    """One saved version of a thread or comment; every edit adds one, all viewable."""

    __tablename__ = "versions"
    __table_args__ = (Index("ix_versions_item", "item_type", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type: Mapped[str] = mapped_column(String(20))  # discussion | comment | poll
    item_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class ReadState(db.Model):
    """A member's relation to one thread: what they have read, and their volume for it."""

    __tablename__ = "read_states"
    __table_args__ = (UniqueConstraint("user_id", "discussion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id"), index=True)
    last_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Comments seen when last read, so "N new" needs no extra query.
    read_comments_count: Mapped[int] = mapped_column(Integer, default=0)
    # None: follow the group's volume; else all | mentions | mute for this thread.
    volume: Mapped[str | None] = mapped_column(String(10))
    # Taking part subscribes you to the thread.
    participating: Mapped[bool] = mapped_column(Boolean, default=False)
