"""People: accounts, verified aliases, sign-in tokens and history, second factor."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow

DELETED_MEMBER_NAME = "deleted member"


def display_name(name: str | None, email: str | None, deleted_at=None, *, bot: bool = False) -> str:
    """How a person is named everywhere (pages, mail, digests, exports): their name, else the
    part of their address before the @; an erased account is "deleted member"; a bot is labelled one
    (a retired bot keeps its name)."""
    if bot:
        return f"{name} (bot)"
    if deleted_at is not None or not (name or email):
        return DELETED_MEMBER_NAME
    return name or email.split("@")[0]


def greeting(person: "User | None") -> str:
    """The first line of every mail: "Hello Ada," when the person gave a name, else "Hello,"."""
    from flask_babel import gettext as _

    name = person.name if person is not None and person.deleted_at is None else None
    return _("Hello %(name)s,", name=name) if name else _("Hello,")


def name_of(user: "User | None") -> str:
    """display_name for a person who may be gone altogether (a removed author)."""
    return user.display_name if user is not None else DELETED_MEMBER_NAME


def initials_of(name: str) -> str:
    """One or two letters for an avatar: the first of the first and the last word ("Maya Cohen" →
    "MC", "ada" → "A"); "?" for a name without letters."""
    words = [w for w in (name or "").replace("@", " ").split() if any(ch.isalnum() for ch in w)]
    if not words:
        return "?"
    letters = [next(ch for ch in w if ch.isalnum()) for w in (words[0], words[-1])] if len(words) > 1 else \
        [next(ch for ch in words[0] if ch.isalnum())]
    return "".join(letters).upper()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL once the account is deleted: content stays, personal data goes.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The member's language (app/i18n.py LOCALES); "" = never chosen: their group's default, else the browser's.
    locale: Mapped[str] = mapped_column(String(16), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(String(255))  # encrypted with the data key
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newest TOTP time step accepted: a code is good once (RFC 6238 section 5.2).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # A secret being set up (encrypted like totp_secret), kept here rather than in the cookie.
    totp_setup_secret: Mapped[str | None] = mapped_column(String(255))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_site_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumping this revokes every reply address and footer link issued so far.
    mail_token_generation: Mapped[int] = mapped_column(Integer, default=0)
    # Digest settings: off | daily | weekly; weekday 0 = Monday; hour in the member's zone.
    digest_frequency: Mapped[str] = mapped_column(String(10), default="off")
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0)
    digest_hour: Mapped[int] = mapped_column(Integer, default=7)
    # Outbound health: hard bounces (or repeated soft ones) suspend sending.
    bounce_score: Mapped[int] = mapped_column(Integer, default=0)
    email_suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_suspended_reason: Mapped[str | None] = mapped_column(String(255))
    # A bot account (no address, no sign-in; it acts through the API with its tokens) belongs to this
    # one group only, made there by an admin; NULL for people.
    # (use_alter: groups name their creator, so the two tables refer to each other; the sort leaves this one out)
    bot_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE", use_alter=True, name="fk_users_bot_group_id_groups"), index=True)
    # Set by a site admin: the account cannot sign in or act by mail until reactivated.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    aliases: Mapped[list["UserAlias"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def display_name(self) -> str:
        return display_name(self.name, self.email, self.deleted_at, bot=self.bot_group_id is not None)

    @property
    def is_bot(self) -> bool:
        return self.bot_group_id is not None

    @property
    def is_active(self) -> bool:  # Flask-Login: deleted accounts cannot sign in
        return self.deleted_at is None

    # The server-side session this object was loaded for or signed in with (app/auth_session.py);
    # Flask-Login keeps it in the session cookie and the remember cookie. Not a column.
    web_session_id = None

    def get_id(self) -> str:
        if self.web_session_id is None:
            raise RuntimeError("start a session (auth_session.sign_in) before asking for its id")
        return self.web_session_id

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserAlias(db.Model):
    """Another address a member sends from. It exists only once the member proved they read its
    mail (an AddressProof followed); `verified_at` is when. A row with `cut_off_at` set is an alias
    from before proofs (attached by a group admin): it counts for nothing, and its owner is told."""

    __tablename__ = "user_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cut_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="aliases")


ADDRESS_PURPOSES = ("alias", "primary")


class AddressProof(db.Model):
    """A link mailed to an address a signed-in member asked to add (as an alias, or as their new
    primary address): following it proves they read that mailbox. Single use, short-lived."""

    __tablename__ = "address_proofs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    purpose: Mapped[str] = mapped_column(String(10))  # alias | primary
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TrustedSender(db.Model):
    """A sending service a member vouched for after confirming a message it carried: mail from
    them that this domain's SPF or DKIM authenticates counts as proven, though not aligned with
    their From domain (e.g. their provider signs with its own domain). Bound to the authenticated
    domain, never to a header."""

    __tablename__ = "trusted_senders"
    __table_args__ = (UniqueConstraint("user_id", "method", "domain"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(8))  # spf | dkim
    domain: Mapped[str] = mapped_column(String(253))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginToken(db.Model):
    """One emailed sign-in: a magic link and a 6-digit code, both hashed at rest."""

    __tablename__ = "login_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_path: Mapped[str | None] = mapped_column(String(255))


class SignInEvent(db.Model):
    """Sign-in history, shown to the member and included in their personal export."""

    __tablename__ = "sign_in_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(20))  # link | code | password
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(db.Model):
    """One signed-in browser. The cookies carry a random key; only its hash is kept here, and signing
    out (here or everywhere) ends the row, so a copied session or remember cookie stops working."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SecondFactorChallenge(db.Model):
    """A sign-in waiting for its second factor: the first factor is done, the TOTP code is not.
    Kept server-side (the cookie holds only a random key) with its expiry and failure count."""

    __tablename__ = "second_factor_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    next_path: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedToken(db.Model):
    """A member's key to the Atom feeds of their private groups: it goes in the feed address
    (`?token=`), since feed readers carry no cookies. Only its hash is kept (the member sees the
    token once, when it is made); making a new one or revoking it ends the old one. One per member."""

    __tablename__ = "feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
