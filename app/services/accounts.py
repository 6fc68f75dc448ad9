"""Accounts: sign-in by emailed link or code, passwords, profile."""
from __future__ import annotations

import re
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from ..email import messages
from ..extensions import db
from ..models import LoginToken, SignInEvent, User, UserAlias, utcnow
from ..tokens import hash_token, random_token, six_digit_code
from .errors import Invalid, NotAllowed
from .. import i18n, timezones
from ..i18n import _, _l
from ..text import one_line

SIGN_IN_LIFETIME = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
NO_SIGNUP = _l("This site does not create accounts for new addresses by themselves. Ask a group's admin to invite you.")
_hasher = PasswordHasher()  # argon2id with the library's current defaults


def normalise_email(raw: str) -> str:
    """Lower-cased, trimmed address; Invalid if it is not a plausible address."""
    email = (raw or "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email) or ".." in email:
        raise Invalid(_("Please enter a valid email address, like name@example.org."), field="email")
    return email


def user_by_email(email: str) -> User | None:
    """The member with this address or a verified alias of it."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email, User.deleted_at.is_(None)))
    if user is not None:
        return user
    return db.session.scalar(
        select(User)
        .join(UserAlias, UserAlias.user_id == User.id)
        .where(UserAlias.email == email, UserAlias.verified_at.is_not(None), User.deleted_at.is_(None))
    )


def create_user(*, email: str, name: str = "", verified: bool = False, time_zone: str = "UTC") -> User:
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Invalid(_("An account with this email address already exists."), field="email")
    user = User(email=email, name=one_line(name)[:100], time_zone=time_zone,
                email_verified_at=utcnow() if verified else None)
    db.session.add(user)
    db.session.flush()
    return user


def request_sign_in(*, email: str, next_path: str | None = None) -> LoginToken:
    """Email a one-time link and 6-digit code to the address (known or not).

    An unknown address gets an account only when it confirms, so typos create nothing.
    """
    email = normalise_email(email)
    link = random_token(32)
    code = six_digit_code()
    token = LoginToken(
        email=email,
        link_hash=hash_token("link:" + link),
        code_hash=hash_token(f"code:{email}:{code}"),
        expires_at=utcnow() + SIGN_IN_LIFETIME,
        next_path=safe_next(next_path),
    )
    db.session.add(token)
    db.session.flush()
    user = user_by_email(email)
    from flask import current_app

    from .. import policy

    if user is None and not policy.may_create_own_account(email):
        # SIGNUP keeps strangers out: send nothing, and answer exactly as for a member (the token
        # row is written all the same; no mail carries its link or code, and _complete refuses it).
        db.session.commit()
        return token
    messages.sign_in(to=email, user=user, token_id=token.id, link=f"{current_app.config['BASE_URL']}/login/link/{link}",
                     code=code, minutes=int(SIGN_IN_LIFETIME.total_seconds() // 60))
    db.session.commit()
    return token


def peek_link(link: str) -> LoginToken | None:
    """The pending sign-in for a link, without using it (the link page asks for a click)."""
    token = db.session.scalar(select(LoginToken).where(LoginToken.link_hash == hash_token("link:" + link)))
    _check_usable(token)
    return token


def confirm_link(*, link: str, ip: str | None = None, user_agent: str | None = None) -> tuple[User, LoginToken]:
    token = db.session.scalar(
        select(LoginToken).where(LoginToken.link_hash == hash_token("link:" + link)).with_for_update()
    )
    _check_usable(token)
    return _complete(token, method="link", ip=ip, user_agent=user_agent), token


def confirm_code(*, email: str, code: str, ip: str | None = None, user_agent: str | None = None) -> tuple[User, LoginToken]:
    email = normalise_email(email)
    code = re.sub(r"\D", "", code or "")
    token = db.session.scalar(
        select(LoginToken)
        .where(LoginToken.email == email, LoginToken.used_at.is_(None))
        .order_by(LoginToken.id.desc())
        .limit(1)
    )
    _check_usable(token)
    if len(code) != 6 or hash_token(f"code:{email}:{code}") != token.code_hash:
        token.failed_attempts += 1
        if token.failed_attempts >= MAX_CODE_ATTEMPTS:
            token.used_at = utcnow()  # burn it: a 6-digit code must not be guessable
        db.session.commit()
        raise Invalid(_("That code is not right. Check the latest email we sent, or ask for a new one."), field="code")
    return _complete(token, method="code", ip=ip, user_agent=user_agent), token


def _check_usable(token: LoginToken | None) -> None:
    if token is None:
        raise Invalid(_("This sign-in link or code is not valid. Ask for a new one below."))
    if token.used_at is not None:
        raise Invalid(_("This sign-in link or code has already been used. Ask for a new one below."))
    if token.expires_at <= utcnow():
        raise Invalid(_("This sign-in link or code has expired (they last 10 minutes). Ask for a new one below."))


def _complete(token: LoginToken, *, method: str, ip: str | None, user_agent: str | None) -> User:
    token.used_at = utcnow()
    user = user_by_email(token.email)
    if user is None:
        from .. import policy

        if not policy.may_create_own_account(token.email):
            db.session.commit()
            raise NotAllowed(str(NO_SIGNUP))
        user = create_user(email=token.email, verified=True)
    elif user.email_verified_at is None:
        user.email_verified_at = utcnow()
    record_sign_in(user, method=method, ip=ip, user_agent=user_agent)
    db.session.commit()
    return user


# Lazy: shown on a page, and in the explanation mailed back (rendered in the recipient's language).
DEACTIVATED_EXPLANATION = _l("This account has been deactivated by the site's administrators, so it cannot sign in "
                             "or take part by email. If you think this is a mistake, write to them.")


def acting_member(user_id: int | None) -> User:
    """The person a service acts for: an account that exists and is not erased."""
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None or user.deleted_at is not None:
        raise NotAllowed(_("Please sign in first."))
    if user.deactivated_at is not None:
        raise NotAllowed(str(DEACTIVATED_EXPLANATION))
    return user


def record_sign_in(user: User, *, method: str, ip: str | None, user_agent: str | None) -> None:
    """Add the sign-in to the member's history, in the caller's transaction."""
    db.session.add(SignInEvent(user_id=user.id, method=method, ip_address=ip, user_agent=(user_agent or "")[:255]))


def signed_in_by_invitation(user: User, *, ip: str | None, user_agent: str | None) -> None:
    """An emailed invitation proved the address, as an emailed sign-in link would."""
    record_sign_in(user, method="link", ip=ip, user_agent=user_agent)
    db.session.commit()


def sign_in_with_password(*, email: str, password: str, ip: str | None = None, user_agent: str | None = None) -> User:
    email = normalise_email(email)
    user = user_by_email(email)
    wrong = Invalid(_("That email and password do not match. You can sign in with an emailed link instead."),
                    field="password")
    if user is None or not user.password_hash:
        _hasher.hash(password or "x")  # spend the same time whether or not the account exists
        raise wrong
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        raise wrong from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    record_sign_in(user, method="password", ip=ip, user_agent=user_agent)
    db.session.commit()
    return user


def set_password(*, user_id: int, password: str | None) -> None:
    """Set (or, with None/empty, remove) the optional password."""
    user = db.session.get(User, user_id)
    if password:
        if len(password) < 10:
            raise Invalid(_("Use at least %(min)s characters.", min=10), field="password")
        if len(password) > 1000:
            raise Invalid(_("That password is too long."), field="password")
        user.password_hash = _hasher.hash(password)
    else:
        user.password_hash = None
    db.session.commit()


def update_profile(*, user_id: int, name: str, time_zone: str, locale: str) -> User:
    user = db.session.get(User, user_id)
    name = one_line(name)  # a CR/LF in a name would break every mail header that carries it
    if not name:
        raise Invalid(_("Please tell us your name."), field="name")
    if len(name) > 100:
        raise Invalid(_("Names can be at most %(limit)s characters.", limit=100), field="name")
    if not timezones.is_known(time_zone):
        raise Invalid(_("Pick a time zone from the list."), field="time_zone")
    if locale and locale not in LOCALES:  # "" = not chosen: the group's default, else the browser's
        raise Invalid(_("Pick a language from the list."), field="locale")
    user.name, user.time_zone, user.locale = name, time_zone, locale
    db.session.commit()
    return user


def sign_out_everywhere(*, user_id: int) -> None:
    from . import sessions

    sessions.end_all(user_id=user_id)
    db.session.commit()


LOCALES = i18n.LOCALES


def safe_next(path: str | None) -> str | None:
    """A same-site path to go to after signing in, rebuilt from its parsed parts, or None.

    Browsers forgive a lot in a Location header (they drop tabs and newlines, read a backslash as
    a slash, and so turn "/\t/evil.example" into "//evil.example"), so nothing is checked as a
    string: the value is parsed, refused unless it is a plain path of printable ASCII with no
    scheme or host, and the redirect is built from the path and query alone.
    """
    from urllib.parse import quote, unquote, urlsplit

    if not path or len(path) > 254 or not path.isascii() or not path.startswith("/") or path.startswith("//"):
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F or ch == "\\" for ch in path):
        return None
    try:
        parts = urlsplit(path)
    except ValueError:
        return None
    decoded = unquote(parts.path)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    if decoded.startswith(("//", "/\\")) or "\\" in decoded or any(ord(ch) < 0x20 for ch in decoded):
        return None
    rebuilt = quote(parts.path, safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        rebuilt += "?" + quote(parts.query, safe="=&%+-._~/")
    return rebuilt


def issue_sign_in_link(*, email: str, lifetime: timedelta = SIGN_IN_LIFETIME) -> str:
    """A one-time sign-in link without sending mail (for the operator's console, e.g. the demo)."""
    from flask import current_app

    email = normalise_email(email)
    link = random_token(32)
    db.session.add(LoginToken(email=email, link_hash=hash_token("link:" + link),
                              code_hash=hash_token(f"code:{email}:{random_token(8)}"),
                              expires_at=utcnow() + lifetime))
    db.session.commit()
    return f"{current_app.config['BASE_URL']}/login/link/{link}"
