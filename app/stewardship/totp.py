"""Optional second factor: TOTP (RFC 6238, via pyotp) with single-use recovery codes.

The TOTP secret is stored encrypted with the instance data key (app/storage.py), bound to the
member's id, and so is a secret being set up (never in the cookie); the newest accepted time step
is remembered, so a code works once; recovery codes are stored as keyed hashes and burn on use.
"""
from __future__ import annotations

import base64
import secrets
from datetime import timedelta

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update

from .. import storage
from ..extensions import db
from ..i18n import _
from ..models import Group, Membership, RecoveryCode, SecondFactorChallenge, User, utcnow
from ..services import sessions
from ..services.errors import Invalid, NotAllowed, NotFound, RateLimited
from ..tokens import hash_token, random_token

ISSUER = "Quorum"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed from paper


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email or str(user.id), issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The provisioning URI as an inline SVG QR code (drawn here: no script, no remote image)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", title=_("Scan with your app"))
    return Markup(svg)  # segno escapes what it writes; the URI is ours


def seal_secret(user_id: int, secret: str) -> str:
    return base64.b64encode(storage.encrypt(secret.encode(), associated=f"totp:{user_id}".encode())).decode()


def _open(user_id: int, sealed: str | None) -> str | None:
    if not sealed:
        return None
    return storage.decrypt(base64.b64decode(sealed), associated=f"totp:{user_id}".encode()).decode()


def open_secret(user: User) -> str | None:
    return _open(user.id, user.totp_secret)


def begin_setup(*, user_id: int) -> str:
    """A new secret to set up (replacing one not yet confirmed), kept server-side, sealed."""
    user = db.session.get(User, user_id)
    if user.totp_enabled_at is not None:
        raise Invalid(_("Two-factor sign-in is already on."))
    secret = new_secret()
    user.totp_setup_secret = seal_secret(user.id, secret)
    db.session.commit()
    return secret


def setup_secret(user: User) -> str | None:
    """The secret this member is setting up, if any."""
    return _open(user.id, user.totp_setup_secret) if user.totp_enabled_at is None else None


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side for clock drift) whose code this is."""
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6:
        return None
    totp_ = pyotp.TOTP(secret)
    now = totp_.timecode(utcnow())
    for step in (now - 1, now, now + 1):
        if secrets.compare_digest(totp_.generate_otp(step), code):
            return step
    return None


def _use_step(user: User, step: int) -> bool:
    """Accept this time step once: a conditional UPDATE, so two requests with one code cannot both win."""
    won = db.session.execute(update(User).where(
        User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
    if won == 1:
        user.totp_last_step = step
    return won == 1


def _recovery_hash(user_id: int, code: str) -> str:
    return hash_token(f"recovery:{user_id}:{code.strip().lower().replace('-', '').replace(' ', '')}")


def _new_recovery_codes(user_id: int) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user_id, code_hash=_recovery_hash(user_id, raw)))
    return codes


def enable(*, user_id: int, code: str) -> list[str]:
    """Turn TOTP on once the member proves their app shows the right code; returns recovery codes."""
    user = db.session.get(User, user_id)
    secret = setup_secret(user)
    step = _matching_step(secret, code) if secret else None
    if step is None:
        raise Invalid(_("That code does not match. Check the time on your phone and type the current 6 digits."),
                      field="code")
    user.totp_secret = seal_secret(user.id, secret)
    user.totp_setup_secret = None
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _new_recovery_codes(user.id)
    db.session.commit()
    return codes


def regenerate_codes(*, user_id: int, code: str) -> list[str]:
    user = db.session.get(User, user_id)
    if not verify(user, code):
        raise Invalid(_("That code does not match."), field="code")
    codes = _new_recovery_codes(user.id)
    db.session.commit()
    return codes


def groups_requiring(user_id: int) -> list[Group]:
    """Groups where this member is an admin and the group requires 2FA for admins."""
    return list(db.session.scalars(
        select(Group).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user_id, Membership.role == "admin", Group.admins_require_2fa.is_(True))
    ))


def disable(*, user_id: int, code: str) -> None:
    user = db.session.get(User, user_id)
    required = groups_requiring(user_id)
    if required:
        names = ", ".join(g.name for g in required)
        raise NotAllowed(_("You are an admin of %(groups)s, which requires two-factor sign-in for admins.", groups=names))
    if not verify(user, code):
        raise Invalid(_("That code does not match."), field="code")
    _clear(user)
    db.session.commit()


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_setup_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def verify(user: User, code: str) -> bool:
    """A current TOTP code not used before, or an unused recovery code (each is then used up)."""
    if user is None or user.totp_enabled_at is None:
        return False
    secret = open_secret(user)
    step = _matching_step(secret, code) if secret else None
    if step is not None:
        used = _use_step(user, step)
        db.session.commit()
        return used
    used = db.session.execute(update(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(user.id, code or ""),
        RecoveryCode.used_at.is_(None)).values(used_at=utcnow())).rowcount
    db.session.commit()
    return used == 1


def remaining_codes(user_id: int) -> int:
    return len(list(db.session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))))


def set_admins_require_2fa(*, actor, group_id: int, required: bool) -> Group:
    from .. import policy
    from ..services import audit

    group = db.session.get(Group, group_id)
    if not policy.can_administer(actor, group):
        raise NotAllowed(_("Only the group's admins can change this."))
    if required and actor.totp_enabled_at is None:
        raise Invalid(_("Turn on two-factor sign-in for yourself first (Account → Two-factor sign-in)."),
                      field="required")
    group.admins_require_2fa = bool(required)
    audit.record(actor.id, group.id, "require_2fa_changed", required=bool(required))
    db.session.commit()
    return group


# --- The sign-in step: first factor done, second factor awaited ---------------------------------
# Kept server-side: the cookie holds a random key; the row keeps expiry and failures, so replaying
# an old cookie resets nothing, and failures also count per account across sign-ins.

CHALLENGE_LIFETIME = timedelta(minutes=10)
CHALLENGE_MAX_FAILURES = 5  # wrong codes in one sign-in before it must start again
ACCOUNT_MAX_FAILURES = 10  # wrong codes for one account, across sign-ins, per window
ACCOUNT_WINDOW = timedelta(minutes=15)


def begin_second_factor(*, user_id: int, next_path: str | None) -> str:
    """The first factor is done: remember that (for CHALLENGE_LIFETIME) and return the cookie's key."""
    key = random_token(32)
    now = utcnow()
    db.session.add(SecondFactorChallenge(user_id=user_id, key_hash=sessions.key_hash("2fa", key), next_path=next_path,
                                         created_at=now, expires_at=now + CHALLENGE_LIFETIME, failures=0))
    db.session.commit()
    return key


def pending_second_factor(key: str | None) -> SecondFactorChallenge | None:
    """The sign-in waiting for this key's second factor, if it is still live."""
    if not key or len(key) > 100:
        return None
    return db.session.scalar(select(SecondFactorChallenge).where(
        SecondFactorChallenge.key_hash == sessions.key_hash("2fa", key), SecondFactorChallenge.used_at.is_(None),
        SecondFactorChallenge.expires_at > utcnow(), SecondFactorChallenge.failures < CHALLENGE_MAX_FAILURES))


def _account_failures(user_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(SecondFactorChallenge.failures), 0)).where(
        SecondFactorChallenge.user_id == user_id,
        SecondFactorChallenge.created_at > utcnow() - ACCOUNT_WINDOW)) or 0


def answer_second_factor(*, key: str | None, code: str) -> tuple[User, str | None]:
    """Check the code for the waiting sign-in; returns the member and where they were going.

    NotFound: no live sign-in (expired, used, or too many wrong codes: start again).
    RateLimited: too many wrong codes for this account lately, whichever browser sent them.
    Invalid: a wrong code (counted, server-side).
    """
    challenge = pending_second_factor(key)
    if challenge is None:
        raise NotFound(_("Your sign-in has timed out. Please start again."))
    if _account_failures(challenge.user_id) >= ACCOUNT_MAX_FAILURES:
        raise RateLimited(_("Too many wrong codes for this account. Wait 15 minutes, then sign in again."))
    user = db.session.get(User, challenge.user_id)
    if user is None or user.deleted_at is not None or not verify(user, code):
        # Counted in one UPDATE, so parallel guesses are all counted.
        db.session.execute(update(SecondFactorChallenge).where(SecondFactorChallenge.id == challenge.id)
                           .values(failures=SecondFactorChallenge.failures + 1))
        db.session.commit()
        raise Invalid(_("That code is not right. Type the 6 digits your app shows now, or one of your recovery codes."),
                      field="code")
    won = db.session.execute(update(SecondFactorChallenge).where(
        SecondFactorChallenge.id == challenge.id, SecondFactorChallenge.used_at.is_(None))
        .values(used_at=utcnow())).rowcount
    db.session.commit()
    if won != 1:
        raise NotFound(_("Your sign-in has timed out. Please start again."))
    return user, challenge.next_path
