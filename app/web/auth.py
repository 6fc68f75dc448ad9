"""Sign in by emailed link or code (or an optional password), and sign out."""
from __future__ import annotations

from flask import Blueprint, render_template, request, session
from flask_login import current_user

from ..auth_session import sign_in, sign_out
from ..extensions import limiter
from ..services import accounts
from ..stewardship import totp
from ..services.errors import DomainError
from .helpers import client_ip, see_other

bp = Blueprint("auth", __name__)


def _address_key() -> str:
    return "signin-address:" + (request.form.get("email") or "").strip().lower()[:254]


def _finish(user, next_path: str | None):
    """Start the session, or ask for the second factor first."""
    if user.totp_enabled_at is not None:
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
    return render_template("auth/login.html", email="", errors={}, next=accounts.safe_next(request.args.get("next")) or "")


@bp.post("/login")
@limiter.limit("20 per hour", key_func=client_ip)
@limiter.limit("5 per 15 minutes", key_func=_address_key)
def login_request():
    email = request.form.get("email", "")
    next_path = request.form.get("next") or None
    try:
        accounts.request_sign_in(email=email, next_path=next_path)
    except DomainError as error:
        return render_template("auth/login.html", email=email, errors={"email": error.message}, next=next_path or ""), 422
    # The address stays in the (signed) session, not the URL: URLs end up in logs and histories.
    session["signin_email"] = accounts.normalise_email(email)
    return see_other("/login/code")


@bp.get("/login/code")
def code_form():
    return render_template("auth/code.html", email=session.get("signin_email", ""), errors={}, sent=True)


@bp.post("/login/code")
@limiter.limit("30 per hour", key_func=client_ip)
@limiter.limit("10 per 15 minutes", key_func=_address_key)
def code_submit():
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
    try:
        token = accounts.peek_link(link)
    except DomainError as error:
        return render_template("auth/login.html", email="", errors={"email": error.message}, next=""), 410
    return render_template("auth/link.html", link=link, email=token.email)


@bp.post("/login/link/<link>")
@limiter.limit("30 per hour", key_func=client_ip)
def link_confirm(link: str):
    try:
        user, token = accounts.confirm_link(link=link, ip=client_ip(), user_agent=request.user_agent.string)
    except DomainError as error:
        return render_template("auth/login.html", email="", errors={"email": error.message}, next=""), 410
    return _finish(user, token.next_path)


@bp.post("/login/password")
@limiter.limit("20 per hour", key_func=client_ip)
@limiter.limit("10 per 15 minutes", key_func=_address_key)
def password_submit():
    email = request.form.get("email", "")
    try:
        user = accounts.sign_in_with_password(email=email, password=request.form.get("password", ""),
                                              ip=client_ip(), user_agent=request.user_agent.string)
    except DomainError as error:
        return render_template("auth/login.html", email=email, errors={"password": error.message}, next=""), 422
    return _finish(user, accounts.safe_next(request.form.get("next")))


@bp.post("/logout")
def logout():
    sign_out()
    return see_other("/")
