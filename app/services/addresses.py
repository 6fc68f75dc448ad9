"""A member's email addresses: the primary one, proven aliases, and changes to either.

An address becomes a member's only by proof of control: the member, signed in, asks for it, and a
single-use link is mailed to that address (an AddressProof); following the link is the proof.
An alias then counts as the member's for mail they send (From) and for sign-in links sent to it.
A new primary address is proven the same way, and the old one is told. Nobody else — no group
admin, no operator action in the web app — can attach an address to someone's account.

Aliases attached before proofs existed (by an admin's "allow" on held mail) were cut off by
migration 0004; `tell_cut_off_owners()` mails each owner once and removes the row.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from ..email import messages
from ..extensions import db
from ..models import AddressProof, User, UserAlias, utcnow
from ..tokens import hash_token, random_token
from . import audit
from .accounts import normalise_email
from .errors import Invalid, NotFound, RateLimited
from ..i18n import _, _n

PROOF_HOURS = 24
PROOFS_PER_HOUR = 5
MAX_ALIASES = 10


def _hash(token: str) -> str:
    return hash_token("address-proof:" + token)


def aliases_of(user_id: int) -> list[UserAlias]:
    return list(db.session.scalars(select(UserAlias).where(
        UserAlias.user_id == user_id, UserAlias.verified_at.is_not(None), UserAlias.cut_off_at.is_(None))
        .order_by(UserAlias.id)))


def pending_of(user_id: int) -> list[AddressProof]:
    return list(db.session.scalars(select(AddressProof).where(
        AddressProof.user_id == user_id, AddressProof.used_at.is_(None), AddressProof.expires_at > utcnow())
        .order_by(AddressProof.id)))


def _owner_of(email: str) -> int | None:
    """The account this address already belongs to (primary or proven alias), if any."""
    owner = db.session.scalar(select(User.id).where(func.lower(User.email) == email, User.deleted_at.is_(None)))
    if owner is not None:
        return owner
    return db.session.scalar(select(UserAlias.user_id).where(
        UserAlias.email == email, UserAlias.verified_at.is_not(None), UserAlias.cut_off_at.is_(None)))


def request_proof(*, user_id: int, email: str, purpose: str) -> AddressProof:
    """Mail a proof link to `email` for the signed-in member `user_id` (purpose: alias | primary).

    Whether the address belongs to someone else is not said here (that would tell anyone which
    addresses have accounts); following the link says so, and only to the mailbox's reader.
    """
    if purpose not in ("alias", "primary"):
        raise Invalid(_("Choose what the address is for."))
    user = db.session.get(User, user_id)
    email = normalise_email(email)
    if email == (user.email or "").lower():
        raise Invalid(_("That is already your account's address."), field="email")
    if purpose == "alias":
        aliases = aliases_of(user_id)
        if any(alias.email == email for alias in aliases):
            raise Invalid(_("That address is already one of yours."), field="email")
        if len(aliases) >= MAX_ALIASES:
            raise Invalid(_n("An account can have at most %(num)s extra address; remove one first.",
                             "An account can have at most %(num)s extra addresses; remove one first.", MAX_ALIASES),
                          field="email")
    recent = db.session.scalar(select(func.count(AddressProof.id)).where(
        AddressProof.user_id == user_id, AddressProof.created_at > utcnow() - timedelta(hours=1))) or 0
    if recent >= PROOFS_PER_HOUR:
        raise RateLimited(_("You asked for several confirmation links in the last hour; please wait a little "
                            "before asking for another."), field="email")
    token = random_token(32)
    proof = AddressProof(user_id=user_id, email=email, purpose=purpose, token_hash=_hash(token),
                         expires_at=utcnow() + timedelta(hours=PROOF_HOURS))
    db.session.add(proof)
    db.session.flush()
    messages.address_proof(proof_id=proof.id, to=email, user=user, purpose=purpose, hours=PROOF_HOURS,
                           link=current_app.config["BASE_URL"] + f"/account/addresses/prove/{token}")
    db.session.commit()
    return proof


def load_proof(token: str) -> AddressProof | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(AddressProof).where(AddressProof.token_hash == _hash(token)))


def proof_state(proof: AddressProof) -> str:
    if proof.used_at is not None:
        return "used"
    return "expired" if proof.expires_at <= utcnow() else "open"


def prove(proof: AddressProof) -> AddressProof:
    """Follow the link: the address becomes the member's alias, or their primary address. Once."""
    if proof_state(proof) != "open":
        raise NotFound(_("This link was used already or has expired. Ask for a new one on your account page."))
    owner = _owner_of(proof.email)
    if owner is not None and owner != proof.user_id:
        raise Invalid(_("%(email)s belongs to another Quorum account, so it cannot be added to this one. "
                        "Remove it from that account first.", email=proof.email))
    won = db.session.execute(
        update(AddressProof).where(AddressProof.id == proof.id, AddressProof.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if not won:
        db.session.rollback()
        raise NotFound(_("This link was used already. Nothing more was changed."))
    user = db.session.get(User, proof.user_id)
    _tell_and_drop_cut_off(proof.email)
    if proof.purpose == "alias":
        db.session.add(UserAlias(user_id=user.id, email=proof.email, verified_at=utcnow()))
        audit.record(actor_id=user.id, group_id=None, action="alias_added", email=proof.email)
    else:
        old = user.email
        for alias in aliases_of(user.id):  # the new primary was an alias: it is the primary now
            if alias.email == proof.email:
                db.session.delete(alias)
        db.session.flush()
        user.email, user.email_verified_at = proof.email, utcnow()
        messages.address_changed(user=user, old=old, new=proof.email, change_id=proof.id)
        audit.record(actor_id=user.id, group_id=None, action="email_changed", old=old, new=proof.email)
    db.session.commit()
    return proof


def remove_alias(*, user_id: int, alias_id: int) -> str:
    """Remove one of the member's aliases; mail from it stops counting as theirs at once."""
    alias = db.session.get(UserAlias, alias_id)
    if alias is None or alias.user_id != user_id:
        raise NotFound(_("There is no such address on your account."))
    email = alias.email
    db.session.delete(alias)
    audit.record(actor_id=user_id, group_id=None, action="alias_removed", email=email)
    db.session.commit()
    return email


def _tell_and_drop_cut_off(email: str) -> None:
    for alias in db.session.scalars(select(UserAlias).where(UserAlias.email == email, UserAlias.cut_off_at.is_not(None))):
        _tell(alias)


def _tell(alias: UserAlias) -> None:
    owner = db.session.get(User, alias.user_id)
    if owner is not None and owner.email and owner.deleted_at is None:
        messages.alias_cut_off(user=owner, alias=alias.email, alias_id=alias.id)
    db.session.delete(alias)
    db.session.flush()


def tell_cut_off_owners(batch: int = 200) -> int:
    """Tell each owner of an alias migration 0004 cut off (once: the row goes with the mail)."""
    told = 0
    while True:
        rows = list(db.session.scalars(select(UserAlias).where(UserAlias.cut_off_at.is_not(None))
                                       .order_by(UserAlias.id).limit(batch)))
        if not rows:
            return told
        for alias in rows:
            _tell(alias)
        db.session.commit()
        told += len(rows)
