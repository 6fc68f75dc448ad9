"""Single sign-on with OpenID Connect (the authorization code flow, with PKCE S256), via Authlib.

Each provider is configured by environment (OIDC_PROVIDERS, OIDC_<NAME>_ISSUER, …; app/config.py)
and found by discovery: the document's issuer must be the configured one. A sign-in under way is a
row (`OidcLogin`): the state is kept as a keyed hash and used once, with its nonce and PKCE verifier,
so a callback whose state is unknown, used or expired is refused, and an ID token whose nonce is not
the one this sign-in sent is refused. The ID token's signature (the provider's published keys), issuer,
audience, expiry and nonce are checked before anything is believed.

Who the person is: an identity already linked (provider + `sub`) signs in its member. Otherwise the
email claim is used only when the provider says `email_verified` is true: then it links to the member
with that address, or (where SIGNUP allows) creates an account. An unverified address never links to
an existing account (that would let anyone who can set an address at a provider take it over).
"""
from __future__ import annotations

import ipaddress
import time
from datetime import timedelta
from urllib.parse import urlsplit

import warnings
from functools import cache
from types import SimpleNamespace

from flask import current_app
from sqlalchemy import delete, select, update

from ..extensions import db
from ..models import OidcIdentity, OidcLogin, User, utcnow
from ..tokens import hash_token, random_token
from . import accounts
from .errors import Invalid, NotAllowed, NotFound
from ..i18n import _


@cache
def _lib() -> SimpleNamespace:
    """requests and Authlib (about 8 MB), imported on the first single sign-on, not by every process."""
    import requests
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    with warnings.catch_warnings():  # Authlib 1.x points at joserfc; its OIDC claim rules still use authlib.jose
        warnings.simplefilter("ignore")
        from authlib.jose import JsonWebKey, JsonWebToken
        from authlib.jose.errors import JoseError
        from authlib.oidc.core import CodeIDToken
        from joserfc.errors import JoseError as RfcJoseError  # what Authlib 1.6+ raises for claims

    return SimpleNamespace(requests=requests, generate_token=generate_token, OAuth2Session=OAuth2Session,
                           JsonWebKey=JsonWebKey, JsonWebToken=JsonWebToken, CodeIDToken=CodeIDToken,
                           token_errors=(JoseError, RfcJoseError, ValueError, KeyError, TypeError))

LOGIN_LIFETIME = timedelta(minutes=10)
METADATA_SECONDS = 600  # discovery documents and keys are fetched again after this
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]
_cache: dict[str, tuple[float, dict]] = {}


class ProviderError(Invalid):
    """The provider could not be reached, or answered something we must not trust."""


def providers() -> dict[str, dict]:
    """The configured providers, name → {issuer, client_id, client_secret, label}."""
    return current_app.config.get("OIDC_PROVIDERS") or {}


def provider(name: str) -> dict:
    found = providers().get(name)
    if found is None:
        raise NotFound(_("There is no such single sign-on provider here."))
    return found


def _loopback(host: str | None) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_url(url: str, what: str) -> str:
    """Provider addresses are https (plain http only on this machine's loopback, for trying it out)."""
    parts = urlsplit(url or "")
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname)):
        return url
    # `what` names the address as OpenID Connect does ("token endpoint"): a technical term, left as it is.
    raise ProviderError(_("The sign-in provider's %(what)s is not an https address, so we do not use it.", what=what))


def _get_json(url: str, what: str) -> dict:
    try:
        response = _lib().requests.get(_check_url(url, what),
                                       timeout=current_app.config.get("OIDC_TIMEOUT_SECONDS", 10),
                                       headers={"Accept": "application/json"}, allow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (_lib().requests.RequestException, ValueError):
        current_app.logger.warning("OpenID provider %s unreachable or answered badly", urlsplit(url).netloc)
        raise ProviderError(_("We could not reach the sign-in provider just now. Please try again in a minute.")) from None
    if not isinstance(document, dict):
        raise ProviderError(_("The sign-in provider answered something we do not understand."))
    return document


def _cached(key: str, fetch, *, fresh: bool = False) -> dict:
    hit = _cache.get(key)
    if hit is not None and not fresh and time.monotonic() - hit[0] < METADATA_SECONDS:
        return hit[1]
    value = fetch()
    _cache[key] = (time.monotonic(), value)
    return value


def metadata(name: str) -> dict:
    """The provider's discovery document, checked: its issuer must be exactly the configured one."""
    config = provider(name)

    def fetch() -> dict:
        document = _get_json(config["issuer"] + "/.well-known/openid-configuration", "discovery document")
        if document.get("issuer", "").rstrip("/") != config["issuer"]:
            current_app.logger.warning("OpenID provider %s: discovery names another issuer", name)
            raise ProviderError(_("The sign-in provider names another issuer than the one configured, so we do not "
                                  "trust it. The site's operator needs to check its settings."))
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            _check_url(document.get(field, ""), field.replace("_", " "))
        return document

    return _cached(f"meta:{name}:{config['issuer']}", fetch)


def _keys(name: str, *, fresh: bool = False):
    meta = metadata(name)
    keys = _cached(f"jwks:{meta['jwks_uri']}", lambda: _get_json(meta["jwks_uri"], "keys"), fresh=fresh)
    return _lib().JsonWebKey.import_key_set(keys)


def redirect_uri(name: str) -> str:
    return f"{current_app.config['BASE_URL']}/login/sso/{name}/callback"


def _client(name: str):
    config = provider(name)
    return _lib().OAuth2Session(config["client_id"], config["client_secret"] or None, scope="openid email profile",
                         redirect_uri=redirect_uri(name), code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_basic" if config["client_secret"] else "none")


def begin(*, name: str, next_path: str | None) -> tuple[str, str]:
    """Start a sign-in at the provider; returns the address to send the browser to, and the state
    (for the browser's own session: the answer must come back to the browser that asked)."""
    meta = metadata(name)
    state, nonce, verifier = random_token(32), random_token(32), _lib().generate_token(64)
    now = utcnow()
    # Sign-ins left unfinished are kept a day at most: each new one clears those older than that.
    db.session.execute(delete(OidcLogin).where(OidcLogin.expires_at < now - timedelta(days=1)))
    db.session.add(OidcLogin(state_hash=hash_token("oidc-state:" + state), provider=name, nonce=nonce,
                             code_verifier=verifier, next_path=accounts.safe_next(next_path), created_at=now,
                             expires_at=now + LOGIN_LIFETIME))
    url, _state = _client(name).create_authorization_url(meta["authorization_endpoint"], state=state, nonce=nonce,
                                                         code_verifier=verifier)
    db.session.commit()
    return url, state


def _claim_login(name: str, state: str | None) -> OidcLogin:
    """The sign-in this state belongs to, used up now (one conditional UPDATE: a replay loses)."""
    refused = Invalid(_("This sign-in did not start here, or was already used or has expired. Please start again."))
    if not state or len(state) > 200:
        raise refused
    login = db.session.scalar(select(OidcLogin).where(OidcLogin.state_hash == hash_token("oidc-state:" + state)))
    if login is None or login.provider != name or login.used_at is not None or login.expires_at <= utcnow():
        raise refused
    won = db.session.execute(update(OidcLogin).where(OidcLogin.id == login.id, OidcLogin.used_at.is_(None))
                             .values(used_at=utcnow())).rowcount
    db.session.commit()
    if won != 1:
        raise refused
    return login


def verify_id_token(name: str, id_token: str, *, nonce: str, access_token: str | None = None) -> dict:
    """The ID token's claims once its signature, issuer, audience, expiry and nonce are right."""
    config = provider(name)
    options = {"iss": {"essential": True, "value": config["issuer"]},
               "aud": {"essential": True, "value": config["client_id"]},
               "exp": {"essential": True}, "sub": {"essential": True}, "nonce": {"essential": True}}
    params = {"nonce": nonce, "client_id": config["client_id"], "access_token": access_token}
    jwt, token_errors = _lib().JsonWebToken(ALGORITHMS), _lib().token_errors
    for fresh in (False, True):  # a key we do not know yet: the provider may have rotated its keys
        try:
            claims = jwt.decode(id_token, _keys(name, fresh=fresh), claims_cls=_lib().CodeIDToken,
                                claims_options=options, claims_params=params)
        except token_errors as error:  # a bad signature, a malformed token, or a key not (yet) known
            if fresh:
                current_app.logger.warning("OpenID provider %s: ID token refused (%s)", name, type(error).__name__)
                break
            continue
        try:
            claims.validate(leeway=60)
        except token_errors as error:  # issuer, audience, expiry, nonce, at_hash
            current_app.logger.warning("OpenID provider %s: ID token refused (%s)", name, error)
            break
        return dict(claims)
    raise ProviderError(_("The sign-in provider's answer did not check out, so you are not signed in. Please start again."))


def finish(*, name: str, args: dict, ip: str | None, user_agent: str | None) -> tuple[User, str | None]:
    """The provider sent the browser back: check everything, then the member it is (or a new one)."""
    config = provider(name)
    if args.get("error"):
        _claim_login(name, args.get("state"))  # used up all the same
        raise Invalid(_("%(provider)s did not sign you in (%(error)s). Please try again.", provider=config["label"],
                        error=str(args.get("error"))[:60]))
    login = _claim_login(name, args.get("state"))
    if args.get("iss") and args["iss"].rstrip("/") != config["issuer"]:  # RFC 9207: mix-up defence
        raise ProviderError(_("That answer came from another sign-in provider than the one you chose. Please start again."))
    code = args.get("code")
    if not code or len(code) > 2000:
        raise Invalid(_("The sign-in provider sent no code back. Please start again."))
    meta = metadata(name)
    try:
        token = _client(name).fetch_token(meta["token_endpoint"], grant_type="authorization_code", code=code,
                                          code_verifier=login.code_verifier,
                                          timeout=current_app.config.get("OIDC_TIMEOUT_SECONDS", 10))
    except Exception as error:  # noqa: BLE001 - any failure of the exchange is the provider refusing
        current_app.logger.warning("OpenID provider %s: token exchange failed (%s)", name, type(error).__name__)
        raise ProviderError(_("The sign-in provider did not accept this sign-in (it may have expired). "
                              "Please start again.")) from None
    if not token.get("id_token"):
        raise ProviderError(_("The sign-in provider sent no ID token, so you are not signed in."))
    claims = verify_id_token(name, token["id_token"], nonce=login.nonce, access_token=token.get("access_token"))
    if "email" not in claims and token.get("access_token") and meta.get("userinfo_endpoint"):
        claims = {**_userinfo(meta["userinfo_endpoint"], token["access_token"], subject=str(claims["sub"])), **claims}
    user = _member_for(name, claims)
    accounts.record_sign_in(user, method="oidc", ip=ip, user_agent=user_agent)
    db.session.commit()
    return user, login.next_path


def _userinfo(url: str, access_token: str, *, subject: str) -> dict:
    """The UserInfo claims (where a provider keeps the address out of the ID token); its `sub` must be
    the ID token's, or none of it is used (OpenID Connect Core 5.3.2)."""
    try:
        response = _lib().requests.get(_check_url(url, "userinfo endpoint"), timeout=current_app.config.get(
            "OIDC_TIMEOUT_SECONDS", 10), headers={"Authorization": f"Bearer {access_token}",
                                                  "Accept": "application/json"}, allow_redirects=False)
        response.raise_for_status()
        info = response.json()
    except (_lib().requests.RequestException, ValueError):
        raise ProviderError(_("We could not ask the sign-in provider who you are just now. Please try again.")) from None
    if not isinstance(info, dict) or str(info.get("sub")) != subject:
        raise ProviderError(_("The sign-in provider's answer did not check out, so you are not signed in."))
    return {key: info[key] for key in ("email", "email_verified", "name") if key in info}


def _verified(claims: dict) -> bool:
    return claims.get("email_verified") is True or str(claims.get("email_verified")).lower() == "true"


def _member_for(name: str, claims: dict) -> User:
    """The member these (checked) claims are: a linked identity, or a verified address."""
    from .. import policy

    label = provider(name)["label"]
    subject = str(claims["sub"])[:255]
    identity = db.session.scalar(select(OidcIdentity).where(OidcIdentity.provider == name,
                                                            OidcIdentity.subject == subject))
    if identity is not None:
        user = db.session.get(User, identity.user_id)
        if user is None or user.deleted_at is not None:
            raise NotAllowed(_("The account linked to this sign-in has been deleted."))
        identity.last_used_at = utcnow()
        return user
    raw_email = claims.get("email")
    if not raw_email:
        raise NotAllowed(_("%(provider)s did not tell us your email address, which we need to know who you are here.",
                           provider=label))
    try:
        email = accounts.normalise_email(str(raw_email))
    except Invalid:
        raise NotAllowed(_("%(provider)s gave an email address we cannot use.", provider=label)) from None
    if not _verified(claims):
        raise NotAllowed(_("%(provider)s has not confirmed that %(email)s is your address, so we cannot sign you in "
                           "with it. Confirm the address with your provider first, or sign in another way.",
                           provider=label, email=email))
    user = accounts.user_by_email(email)
    if user is None:
        if not policy.may_create_own_account(email):
            raise NotAllowed(str(accounts.NO_SIGNUP))
        user = accounts.create_user(email=email, name=str(claims.get("name") or ""), verified=True)
    elif user.email_verified_at is None:
        user.email_verified_at = utcnow()
    db.session.add(OidcIdentity(user_id=user.id, provider=name, subject=subject, email=email, last_used_at=utcnow()))
    db.session.flush()
    return user

