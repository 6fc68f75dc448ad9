"""Ways in for programs: personal access tokens (a member's, or a bot's) for the REST API."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

TOKEN_SCOPES = ("read", "write")  # write includes read


class ApiToken(db.Model):
    """A named key to /api/v1/ for one account (a member, or a bot a group admin made), sent as
    `Authorization: Bearer …`. Only its keyed hash is kept: the token is shown once, when made.
    A revoked token stays listed (when it was revoked) and opens nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(10), default="read")  # read | write
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")

    @property
    def can_write(self) -> bool:
        return self.scope == "write"
