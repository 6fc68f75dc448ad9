"""The instance itself: its branding (set by a site admin), and account merges waiting for proof."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class SiteBranding(db.Model):
    """One row (id 1): what a site admin set; an empty value falls back to the environment's default."""

    __tablename__ = "site_branding"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_name: Mapped[str] = mapped_column(String(60), default="")
    accent_colour: Mapped[str] = mapped_column(String(7), default="")  # #rrggbb
    terms_url: Mapped[str] = mapped_column(String(500), default="")
    privacy_url: Mapped[str] = mapped_column(String(500), default="")
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)  # a PNG, metadata chunks removed
    logo_etag: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class AccountMerge(db.Model):
    """A site admin's request to merge two accounts of one person: each address is mailed a link, and
    the merge happens only once both links were followed (each proves control of its mailbox)."""

    __tablename__ = "account_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kept_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    merged_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kept_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the merge moved and which conflicts it resolved, in words (shown to the site admin).
    report: Mapped[str | None] = mapped_column(String(4000))
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
