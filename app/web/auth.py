"""Sign in by emailed link or code (or an optional password), and sign out."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, session
from flask_login import current_user

from .. import policy
from ..auth_session import sign_in, sign_out
from ..extensions import limiter
from ..services import accounts
from ..stewardship import totp
from ..services.errors import DomainError
from .helpers import client_ip, see_other
from ..i18n import _

bp = Blueprint("auth", __name__)


def _address_key() -> str:
    return "signin-address:" + (request.form.get("email") or "").strip().lower()[:254]


def login_page(*, email: str = "", errors: dict | None = None, next_path: str | None = None, status: int = 200):
    """The sign-in page, offering only the ways in SIGNIN_METHODS allows (docs/SIGNIN.md)."""
    from ..services import sso

    methods = {m: policy.may_sign_in_with(m) for m in ("email", "password", "oidc", "passkey")}
    providers = sso.providers() if methods["oidc"] else {}
    return render_template("auth/login.html", email=email, errors=errors or {}, next=next_path or "",
                           methods=methods, providers=providers,
                           signup=current_app.config.get("SIGNUP") or {"mode": "open", "domains": ()}), status


def _method_refused(method: str):
    """A way in this site has turned off (SIGNIN_METHODS): the server refuses it, whatever the form."""
    if policy.may_sign_in_with(method):
        return None
    return login_page(errors={"email": _("This site does not offer that way of signing in. Use one shown below.")},
                      status=403)


def finish_sign_in(user, next_path: str | None):
    """The first factor is done (any way in but a passkey): start the session, or ask for the second factor."""
    return _finish(user, next_path)


def _finish(user, next_path: str | None):
    """Start the session, or ask for the second factor first."""
    if policy.has_second_factor(user):
        session["second_factor"] = totp.begin_second_factor(user_id=user.id, next_path=next_path)
        return see_other("/login/2fa")
    sign_in(user)
    if not user.name:
        return see_other("/account?welcome=1")
    return see_other(accounts.safe_next(next_path) or "/")


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return see_other("/")
    return login_page(next_path=accounts.safe_next(request.args.get("next")))


@bp.post("/login")
@limiter.limit("20 per hour", key_func=client_ip)
@limiter.limit("5 per 15 minutes", key_func=_address_key)
def login_request():
    if (refused := _method_refused("email")) is not None:
        return refused
    email = request.form.get("email", "")
    next_path = request.form.get("next") or None
    try:
        accounts.request_sign_in(email=email, next_path=next_path)
    except DomainError as error:
        return login_page(email=email, errors={"email": error.message}, next_path=next_path, status=422)
    # The address stays in the (signed) session, not the URL: URLs end up in logs and histories.
    session["signin_email"] = accounts.normalise_email(email)
    return see_other("/login/code")


@bp.get("/login/code")
def code_form():
    if (refused := _method_refused("email")) is not None:
        return refused
    return render_template("auth/code.html", email=session.get("signin_email", ""), errors={}, sent=True)


@bp.post("/login/code")
@limiter.limit("30 per hour", key_func=client_ip)
@limiter.limit("10 per 15 minutes", key_func=_address_key)
def code_submit():
    if (refused := _method_refused("email")) is not None:
        return refused
    email = request.form.get("email", "")
    try:
        user, token = accounts.confirm_code(email=email, code=request.form.get("code", ""), ip=client_ip(),
                                            user_agent=request.user_agent.string)
    except DomainError as error:
        return render_template("auth/code.html", email=email, errors={"code": error.message}, sent=False), 422
    return _finish(user, token.next_path)


@bp.get("/login/link/<link>")
def link_page(link: str):
    """Mail scanners open links; only the button below (a POST) signs in."""
    if (refused := _method_refused("email")) is not None:
        return refused
    try:
        token = accounts.peek_link(link)
    except DomainError as error:
        return login_page(errors={"email": error.message}, status=410)
    return render_template("auth/link.html", link=link, email=token.email)


@bp.post("/login/link/<link>")
@limiter.limit("30 per hour", key_func=client_ip)
def link_confirm(link: str):
    if (refused := _method_refused("email")) is not None:
        return refused
    try:
        user, token = accounts.confirm_link(link=link, ip=client_ip(), user_agent=request.user_agent.string)
    except DomainError as error:
        return login_page(errors={"email": error.message}, status=410)
    return _finish(user, token.next_path)


@bp.post("/login/password")
@limiter.limit("20 per hour", key_func=client_ip)
@limiter.limit("10 per 15 minutes", key_func=_address_key)
def password_submit():
    if (refused := _method_refused("password")) is not None:
        return refused
    email = request.form.get("email", "")
    try:
        user = accounts.sign_in_with_password(email=email, password=request.form.get("password", ""),
                                              ip=client_ip(), user_agent=request.user_agent.string)
    except DomainError as error:
        return login_page(email=email, errors={"password": error.message}, status=422)
    return _finish(user, accounts.safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    sign_out()
    return see_other("/")
