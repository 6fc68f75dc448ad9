"""Personal access tokens for the REST API: made (named, read or read+write), listed and revoked on
the account page, shown once (only the keyed hash is kept, as for feed tokens), and looked up from
the `Authorization: Bearer` header of each API request. Bots' tokens are the same rows, made by the
bot's group admins (app/services/bots.py)."""
from __future__ import annotations

from sqlalchemy import select, update

from .. import policy
from ..extensions import db
from ..models import TOKEN_SCOPES, ApiToken, User, utcnow
from ..text import one_line
from ..tokens import hash_token, random_token
from .accounts import acting_member
from .errors import Invalid, NotAllowed, NotFound, all_or_nothing
from ..i18n import _, _n

NAME_MAX = 100
PREFIX = "qat_"  # "Quorum API token": recognisable in a config file or a secret scanner's rules
MAX_LIVE_TOKENS = 50


def _hash(token: str) -> str:
    return hash_token("api:" + token)


def clean_name(name: str) -> str:
    name = one_line(name or "")
    if not name:
        raise Invalid(_("Please give the token a name, so you know later what uses it."), field="name")
    if len(name) > NAME_MAX:
        raise Invalid(_("Names can be at most %(limit)s characters.", limit=NAME_MAX), field="name")
    return name


def clean_scope(scope: str) -> str:
    if scope not in TOKEN_SCOPES:
        raise Invalid(_("Choose what the token may do: read, or read and write."), field="scope")
    return scope


def add_token(user: User, *, name: str, scope: str) -> str:
    """A new token row for the account in the caller's transaction; the token itself is returned, once."""
    name, scope = clean_name(name), clean_scope(scope)
    live = db.session.scalar(select(db.func.count(ApiToken.id)).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))) or 0
    if live >= MAX_LIVE_TOKENS:
        raise Invalid(_n("An account can have at most %(num)s token; revoke one you no longer use.",
                         "An account can have at most %(num)s tokens; revoke one you no longer use.", MAX_LIVE_TOKENS),
                      field="name")
    token = PREFIX + random_token(30)
    db.session.add(ApiToken(user_id=user.id, name=name, scope=scope, token_hash=_hash(token)))
    return token


@all_or_nothing
def issue_token(*, user_id: int, name: str, scope: str) -> str:
    """Make a personal access token; shown once: only its hash is kept."""
    user = acting_member(user_id)
    if not policy.can_manage_api_tokens(user):
        raise NotAllowed(_("A bot's tokens are made by its group's admins."))
    token = add_token(user, name=name, scope=scope)
    db.session.commit()
    return token


def tokens_of(user_id: int) -> list[ApiToken]:
    """The account's tokens, live ones first, newest first (revoked ones say when)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def revoke_token(*, user_id: int, token_id: int) -> ApiToken:
    """End one of the account's own tokens at once."""
    user = acting_member(user_id)
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("There is no such token."))
    revoke(row)
    db.session.commit()
    return row


def revoke(row: ApiToken) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def revoke_all(user_id: int) -> None:
    """Every live token of the account ends (in the caller's transaction)."""
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))


def caller_by_token(token: str) -> ApiToken | None:
    """The live token a request presents, with its account; None when unknown, revoked, or the
    account is erased (all answered alike)."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token),
                                                   ApiToken.revoked_at.is_(None)))
    if row is None or row.user is None or row.user.deleted_at is not None:
        return None
    return row
