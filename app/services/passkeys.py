"""Passkeys (WebAuthn, with the `webauthn` package): register, sign in, second factor, name, remove.

The relying party is this site: its id is BASE_URL's host name and the origin BASE_URL itself. A
challenge is made here, kept server-side (`PasskeyChallenge`: the browser's cookie holds a random
key, the row its hash) and used once, for the purpose it was made for, within CHALLENGE_LIFETIME.
Every ceremony asks the authenticator to verify the person (PIN or biometrics), so a passkey sign-in
is two factors in one: it skips the authenticator-app step, and it can answer that step for a sign-in
begun another way. A member may require it: every other way in (emailed link or code, password, single
sign-on) then also asks for a passkey (or their authenticator app's code, where that is on too).
"""
from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..models import (Group, Membership, Passkey, PasskeyChallenge, PasskeyPreference, SecondFactorChallenge, User,
                      utcnow)
from ..text import one_line
from ..tokens import hash_token, random_token
from . import accounts, sessions
from .errors import Invalid, NotAllowed, NotFound
from ..i18n import _, _l, _n

CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_PASSKEYS = 20
NAME_LENGTH = 60
PURPOSES = ("register", "sign_in", "second")
# `webauthn` (with pyOpenSSL, about 15 MB) is imported by the functions that use it, so that only a
# web worker serving a passkey ceremony pays for it; the worker and the SMTP server never do.


def bytes_to_base64url(data: bytes) -> str:
    """As webauthn.helpers has it: URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def base64url_to_bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _known_transports() -> set[str]:
    from webauthn.helpers.structs import AuthenticatorTransport

    return {t.value for t in AuthenticatorTransport}
REFUSED = _l("That passkey did not work here. Try again, or sign in another way.")


def _rp_id() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def _origin() -> str:
    parts = urlsplit(current_app.config["BASE_URL"])
    return f"{parts.scheme}://{parts.netloc}"


def _user_handle(user_id: int) -> bytes:
    """What the authenticator keeps as the account's id: not the number, nothing personal."""
    return hash_token(f"webauthn-user:{user_id}").encode()[:32]


def passkeys_of(user_id: int) -> list[Passkey]:
    return list(db.session.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id)))


def count(user_id: int) -> int:
    return db.session.scalar(select(func.count(Passkey.id)).where(Passkey.user_id == user_id)) or 0


def _new_challenge(*, purpose: str, user_id: int | None, challenge: bytes) -> str:
    key = random_token(32)
    now = utcnow()
    # Challenges are kept a day at most: each new one clears those older than that.
    db.session.execute(delete(PasskeyChallenge).where(PasskeyChallenge.expires_at < now - timedelta(days=1)))
    db.session.add(PasskeyChallenge(key_hash=sessions.key_hash("passkey", key), purpose=purpose, user_id=user_id,
                                    challenge=bytes_to_base64url(challenge), created_at=now,
                                    expires_at=now + CHALLENGE_LIFETIME))
    db.session.commit()
    return key


def _use_challenge(key: str | None, *, purpose: str, user_id: int | None = None) -> bytes:
    """The challenge this browser was given for this purpose, used up now (a replay loses)."""
    expired = Invalid(_("This passkey request has expired or was already used. Please try again."))
    if not key or len(key) > 100:
        raise expired
    row = db.session.scalar(select(PasskeyChallenge).where(
        PasskeyChallenge.key_hash == sessions.key_hash("passkey", key)))
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= utcnow() \
            or (user_id is not None and row.user_id != user_id):
        raise expired
    won = db.session.execute(update(PasskeyChallenge).where(PasskeyChallenge.id == row.id,
                                                            PasskeyChallenge.used_at.is_(None))
                             .values(used_at=utcnow())).rowcount
    db.session.commit()
    if won != 1:
        raise expired
    return base64url_to_bytes(row.challenge)


def _descriptors(user_id: int) -> list:
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    known = _known_transports()
    out = []
    for key in passkeys_of(user_id):
        transports = [AuthenticatorTransport(t) for t in key.transports.split(",") if t in known]
        out.append(PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id), transports=transports or None))
    return out


def _credential(raw: str | dict | None) -> dict:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("response"), dict):
        raise Invalid(str(REFUSED))
    return raw


# --- Registering ---------------------------------------------------------------------------

def registration_options(*, user: User) -> tuple[str, str]:
    """The options for navigator.credentials.create (JSON) and the key of their challenge."""
    if count(user.id) >= MAX_PASSKEYS:
        raise Invalid(_n("You have %(num)s passkey already. Remove one you no longer use first.",
                         "You have %(num)s passkeys already. Remove one you no longer use first.", MAX_PASSKEYS))
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (AuthenticatorSelectionCriteria, ResidentKeyRequirement,
                                          UserVerificationRequirement)

    options = generate_registration_options(
        rp_id=_rp_id(), rp_name="Quorum", user_id=_user_handle(user.id), user_name=user.email or str(user.id),
        user_display_name=user.display_name, exclude_credentials=_descriptors(user.id),
        authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.REQUIRED,
                                                               user_verification=UserVerificationRequirement.REQUIRED))
    key = _new_challenge(purpose="register", user_id=user.id, challenge=options.challenge)
    return options_to_json(options), key


def _clean_name(name: str) -> str:
    name = one_line(name or "")
    if not name:
        raise Invalid(_("Give the passkey a name you will recognise, like \u201cwork laptop\u201d."), field="name")
    if len(name) > NAME_LENGTH:
        raise Invalid(_("Names can be at most %(limit)s characters.", limit=NAME_LENGTH), field="name")
    return name


def register(*, user: User, key: str | None, credential, name: str) -> Passkey:
    """Keep the passkey the browser made for this member's challenge."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import WebAuthnException

    name = _clean_name(name)
    challenge = _use_challenge(key, purpose="register", user_id=user.id)
    try:
        credential = _credential(credential)
        verified = verify_registration_response(credential=credential, expected_challenge=challenge,
                                                expected_rp_id=_rp_id(), expected_origin=_origin(),
                                                require_user_verification=True)
    except (Invalid, WebAuthnException, ValueError, KeyError, TypeError, AttributeError):
        raise Invalid(_("Your browser's passkey could not be checked, so it was not added. Please try again.")) from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise Invalid(_("That passkey is added already."))
    transports = [t for t in (credential["response"].get("transports") or []) if t in _known_transports()]
    passkey = Passkey(user_id=user.id, credential_id=credential_id, public_key=verified.credential_public_key,
                      sign_count=verified.sign_count, transports=",".join(transports)[:200], name=name)
    db.session.add(passkey)
    db.session.commit()
    return passkey


# --- Signing in with one, or answering the second-factor step ---------------------------------

def sign_in_options(*, user_id: int | None = None) -> tuple[str, str]:
    """Options for navigator.credentials.get: any of this site's passkeys (the browser offers them),
    or, for the second-factor step, only that member's."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    options = generate_authentication_options(
        rp_id=_rp_id(), allow_credentials=_descriptors(user_id) if user_id is not None else None,
        user_verification=UserVerificationRequirement.REQUIRED)
    key = _new_challenge(purpose="second" if user_id is not None else "sign_in", user_id=user_id,
                         challenge=options.challenge)
    return options_to_json(options), key


def _check_assertion(credential, challenge: bytes, *, user_id: int | None) -> User:
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException

    credential = _credential(credential)
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == credential["id"][:700]))
    if passkey is None or (user_id is not None and passkey.user_id != user_id):
        raise Invalid(str(REFUSED))
    handle = credential["response"].get("userHandle")
    if handle and handle != bytes_to_base64url(_user_handle(passkey.user_id)):
        raise Invalid(str(REFUSED))
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=_rp_id(), expected_origin=_origin(),
            credential_public_key=passkey.public_key, credential_current_sign_count=passkey.sign_count,
            require_user_verification=True)
    except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError):
        raise Invalid(str(REFUSED)) from None
    user = db.session.get(User, passkey.user_id)
    if user is None or user.deleted_at is not None:
        raise Invalid(str(REFUSED))
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return user


def sign_in(*, key: str | None, credential, ip: str | None, user_agent: str | None) -> User:
    """A passkey alone signs in (the device and its PIN or biometrics: two factors)."""
    challenge = _use_challenge(key, purpose="sign_in")
    user = _check_assertion(credential, challenge, user_id=None)
    accounts.record_sign_in(user, method="passkey", ip=ip, user_agent=user_agent)
    db.session.commit()
    return user


def answer_second_factor(*, second_factor_key: str | None, key: str | None, credential) -> tuple[User, str | None]:
    """A passkey answers the second-factor step of a sign-in begun another way."""
    pending = _pending(second_factor_key)
    if pending is None:
        raise NotFound(_("Your sign-in has timed out. Please start again."))
    challenge = _use_challenge(key, purpose="second", user_id=pending.user_id)
    user = _check_assertion(credential, challenge, user_id=pending.user_id)
    won = db.session.execute(update(SecondFactorChallenge).where(
        SecondFactorChallenge.id == pending.id, SecondFactorChallenge.used_at.is_(None))
        .values(used_at=utcnow())).rowcount
    db.session.commit()
    if won != 1:
        raise NotFound(_("Your sign-in has timed out. Please start again."))
    return user, pending.next_path


def pending_user_id(second_factor_key: str | None) -> int | None:
    """Whose sign-in waits for its second factor in this browser (for the step's page)."""
    pending = _pending(second_factor_key)
    return pending.user_id if pending is not None else None


def _pending(second_factor_key: str | None) -> SecondFactorChallenge | None:
    """The sign-in waiting for its second factor (the row app/stewardship/totp.py begins), if live."""
    if not second_factor_key or len(second_factor_key) > 100:
        return None
    return db.session.scalar(select(SecondFactorChallenge).where(
        SecondFactorChallenge.key_hash == sessions.key_hash("2fa", second_factor_key),
        SecondFactorChallenge.used_at.is_(None), SecondFactorChallenge.expires_at > utcnow(),
        SecondFactorChallenge.failures < 5))


def _groups_requiring_a_second_factor(user_id: int) -> list[Group]:
    return list(db.session.scalars(
        select(Group).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user_id, Membership.role == "admin", Group.admins_require_2fa.is_(True))))


# --- Naming, removing, requiring -------------------------------------------------------------

def _own(user_id: int, passkey_id: int) -> Passkey:
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user_id:
        raise NotFound(_("There is no such passkey in your account."))
    return passkey


def rename(*, user_id: int, passkey_id: int, name: str) -> Passkey:
    passkey = _own(user_id, passkey_id)
    passkey.name = _clean_name(name)
    db.session.commit()
    return passkey


def remove(*, user_id: int, passkey_id: int) -> None:
    passkey = _own(user_id, passkey_id)
    if count(user_id) == 1 and is_required(user_id):
        raise NotAllowed(_("This is your only passkey and you require one to sign in. Turn that off first, "
                           "or add another passkey."))
    db.session.delete(passkey)
    db.session.commit()


def is_required(user_id: int) -> bool:
    return bool(db.session.scalar(select(PasskeyPreference.passkey_required)
                                  .where(PasskeyPreference.user_id == user_id)))


def set_required(*, user_id: int, required: bool) -> None:
    """Ask for a passkey at every sign-in (or stop asking)."""
    user = db.session.get(User, user_id)
    if required and count(user_id) == 0:
        raise Invalid(_("Add a passkey first."), field="required")
    strict = _groups_requiring_a_second_factor(user_id) if not required and user.totp_enabled_at is None else []
    if strict:
        names = ", ".join(g.name for g in strict)
        raise NotAllowed(_("You are an admin of %(groups)s, which requires a second factor for admins. "
                           "Turn on an authenticator app first.", groups=names))
    preference = db.session.get(PasskeyPreference, user_id)
    if preference is None:
        preference = PasskeyPreference(user_id=user_id)
        db.session.add(preference)
    preference.passkey_required, preference.changed_at = bool(required), utcnow()
    db.session.commit()
