"""A group's thread and poll templates: its own (made from a thread or a poll, or added by an admin),
and where it has placed or hidden the built-in ones (app/services/templates.DEFAULTS)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow

TEMPLATE_KINDS = ("thread", "poll")


class Template(db.Model):
    """One template in a group's list. A row with `default_key` only places or hides a built-in
    template (its words stay the built-in ones); a row without one is the group's own."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("group_id", "default_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    default_key: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10), default="thread")
    name: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[str] = mapped_column(Text, default="")
    poll_type: Mapped[str | None] = mapped_column(String(20))
    process: Mapped[str | None] = mapped_column(String(20))
    options: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
