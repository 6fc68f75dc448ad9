"""Optional second factor: TOTP (RFC 6238, via pyotp) with single-use recovery codes.

The TOTP secret is stored encrypted with the instance data key (app/storage.py), bound to the
member's id; recovery codes are stored as keyed hashes and burn on use.
"""
from __future__ import annotations

import base64
import secrets

import pyotp
from sqlalchemy import delete, select

from .. import storage
from ..extensions import db
from ..models import Group, Membership, RecoveryCode, User, utcnow
from ..services.errors import Invalid, NotAllowed
from ..tokens import hash_token

ISSUER = "Quorum"
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed from paper


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email or str(user.id), issuer_name=ISSUER)


def seal_secret(user_id: int, secret: str) -> str:
    return base64.b64encode(storage.encrypt(secret.encode(), associated=f"totp:{user_id}".encode())).decode()


def open_secret(user: User) -> str | None:
    if not user.totp_secret:
        return None
    return storage.decrypt(base64.b64decode(user.totp_secret), associated=f"totp:{user.id}".encode()).decode()


def _code_ok(secret: str, code: str) -> bool:
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    return len(code) == 6 and pyotp.TOTP(secret).verify(code, valid_window=1)


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


def enable(*, user_id: int, secret: str, code: str) -> list[str]:
    """Turn TOTP on once the member proves their app shows the right code; returns recovery codes."""
    user = db.session.get(User, user_id)
    if not secret or not _code_ok(secret, code):
        raise Invalid("That code does not match. Check the time on your phone and type the current 6 digits.",
                      field="code")
    user.totp_secret = seal_secret(user.id, secret)
    user.totp_enabled_at = utcnow()
    codes = _new_recovery_codes(user.id)
    db.session.commit()
    return codes


def regenerate_codes(*, user_id: int, code: str) -> list[str]:
    user = db.session.get(User, user_id)
    if not verify(user, code):
        raise Invalid("That code does not match.", field="code")
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
        raise NotAllowed(f"You are an admin of {names}, which requires two-factor sign-in for admins.")
    if not verify(user, code):
        raise Invalid("That code does not match.", field="code")
    _clear(user)
    db.session.commit()


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def verify(user: User, code: str) -> bool:
    """A current TOTP code, or an unused recovery code (which is then used up)."""
    if user is None or user.totp_enabled_at is None:
        return False
    secret = open_secret(user)
    if secret and _code_ok(secret, code):
        return True
    row = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(user.id, code or ""),
        RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    row.used_at = utcnow()
    db.session.commit()
    return True


def remaining_codes(user_id: int) -> int:
    return len(list(db.session.scalars(
        select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)))))


def set_admins_require_2fa(*, actor, group_id: int, required: bool) -> Group:
    from .. import policy
    from ..services import audit

    group = db.session.get(Group, group_id)
    if not policy.can_administer(actor, group):
        raise NotAllowed("Only the group's admins can change this.")
    if required and actor.totp_enabled_at is None:
        raise Invalid("Turn on two-factor sign-in for yourself first (Account → Two-factor sign-in).",
                      field="required")
    group.admins_require_2fa = bool(required)
    audit.record(actor.id, group.id, "require_2fa_changed", required=bool(required))
    db.session.commit()
    return group
