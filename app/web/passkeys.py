"""Passkeys: the account page to add, name and remove them (and to require one), signing in with
one, and answering the second-factor step with one. The options endpoints answer JSON for
static/signin.js; every step that changes something is a plain form POST answered with 303."""
from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, render_template, request, session
from flask_login import current_user, login_required

from .. import policy
from ..auth_session import sign_in
from ..extensions import limiter
from ..services import accounts, passkeys
from ..services.errors import DomainError, NotFound
from .helpers import client_ip, refuse, see_other
from ..i18n import _

bp = Blueprint("passkeys", __name__)


def _json(body: str, status: int = 200):
    response = current_app.response_class(body, status=status, mimetype="application/json")
    response.cache_control.no_store = True
    return response


def _options(options_json: str, key: str):
    session["passkey_challenge"] = key
    return _json(options_json)


def _json_error(message: str, status: int):
    return _json(json.dumps({"error": message}), status)


def _page(errors=None, status=200, form=None):
    return render_template("account/passkeys.html", passkeys=passkeys.passkeys_of(current_user.id),
                           required=passkeys.is_required(current_user.id), errors=errors or {},
                           form=form or {"name": ""}), status


@bp.get("/account/passkeys")
@login_required
def page():
    return _page()


@bp.post("/account/passkeys/options")
@login_required
@limiter.limit("30 per hour", key_func=client_ip)
def registration_options():
    try:
        options_json, key = passkeys.registration_options(user=current_user)
    except DomainError as error:
        return _json_error(error.message, 422)
    return _options(options_json, key)


@bp.post("/account/passkeys")
@login_required
@limiter.limit("30 per hour", key_func=client_ip)
def add():
    name = request.form.get("name", "")
    try:
        passkey = passkeys.register(user=current_user, key=session.pop("passkey_challenge", None),
                                    credential=request.form.get("credential"), name=name)
    except DomainError as error:
        return _page({error.field or "name": error.message}, 422, {"name": name})
    flash(_("Passkey “%(name)s” added. You can sign in with it now.", name=passkey.name))
    return see_other("/account/passkeys")


@bp.post("/account/passkeys/<int:passkey_id>/name")
@login_required
def rename(passkey_id: int):
    try:
        passkeys.rename(user_id=current_user.id, passkey_id=passkey_id, name=request.form.get("name", ""))
    except NotFound as error:
        refuse(error)
    except DomainError as error:
        return _page({"name": error.message}, 422)
    flash(_("Passkey renamed."))
    return see_other("/account/passkeys")


@bp.post("/account/passkeys/<int:passkey_id>/remove")
@login_required
def remove(passkey_id: int):
    try:
        passkeys.remove(user_id=current_user.id, passkey_id=passkey_id)
    except NotFound as error:
        refuse(error)
    except DomainError as error:
        return _page({"required": error.message}, 422)
    flash(_("Passkey removed: it no longer signs you in."))
    return see_other("/account/passkeys")


@bp.post("/account/passkeys/required")
@login_required
def set_required():
    required = request.form.get("required") == "1"
    try:
        passkeys.set_required(user_id=current_user.id, required=required)
    except DomainError as error:
        return _page({"required": error.message}, 422)
    flash(_("Every sign-in now asks for your passkey.") if required
          else _("An emailed link (or your other ways in) signs you in again without a passkey."))
    return see_other("/account/passkeys")


# --- Signing in --------------------------------------------------------------------------------

@bp.post("/login/passkey/options")
@limiter.limit("60 per hour", key_func=client_ip)
def sign_in_options():
    if not policy.may_sign_in_with("passkey"):
        return _json_error(_("This site does not offer signing in with a passkey alone."), 403)
    return _options(*passkeys.sign_in_options())


@bp.post("/login/passkey")
@limiter.limit("30 per hour", key_func=client_ip)
def sign_in_submit():
    from .auth import login_page

    if not policy.may_sign_in_with("passkey"):
        return login_page(errors={"email": _("This site does not offer signing in with a passkey alone.")}, status=403)
    try:
        user = passkeys.sign_in(key=session.pop("passkey_challenge", None), credential=request.form.get("credential"),
                                ip=client_ip(), user_agent=request.user_agent.string)
    except DomainError as error:
        return login_page(errors={"passkey": error.message}, status=422)
    sign_in(user)
    return see_other("/" if user.name else "/account?welcome=1")


@bp.post("/login/2fa/passkey/options")
@limiter.limit("60 per hour", key_func=client_ip)
def second_factor_options():
    user_id = passkeys.pending_user_id(session.get("second_factor"))
    if user_id is None:
        return _json_error(_("Your sign-in has timed out. Please start again."), 410)
    return _options(*passkeys.sign_in_options(user_id=user_id))


@bp.post("/login/2fa/passkey")
@limiter.limit("30 per hour", key_func=client_ip)
def second_factor_submit():
    try:
        user, next_path = passkeys.answer_second_factor(second_factor_key=session.get("second_factor"),
                                                        key=session.pop("passkey_challenge", None),
                                                        credential=request.form.get("credential"))
    except NotFound as error:
        session.pop("second_factor", None)
        flash(error.message, "error")
        return see_other("/login")
    except DomainError as error:
        from .stewardship import second_factor_page

        return second_factor_page({"passkey": error.message}, 422)
    sign_in(user)
    return see_other(accounts.safe_next(next_path) or "/")
