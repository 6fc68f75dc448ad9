"""Keys to the REST API: a member's personal access tokens (/account/tokens) and a group's bots
(/g/<handle>/bots, for its admins). A token is shown once, on the page that answers its making."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, render_template, request
from flask_login import current_user, login_required

from ..models import TOKEN_SCOPES
from ..services import api_tokens, bots
from ..services.errors import DomainError, Invalid
from .helpers import refuse, see_other
from .loaders import admin_group_or_404
from ..i18n import _, _l

bp = Blueprint("api_tokens", __name__)
SCOPES = [("read", _l("Read only")), ("write", _l("Read and write"))]


def _shown_once(response):
    response.headers["Cache-Control"] = "no-store"  # the one time the token is shown
    return response


def _api_base() -> str:
    return current_app.config["BASE_URL"].rstrip("/") + "/api/v1"


# --- Personal access tokens ------------------------------------------------------------------

def _tokens_page(*, token: str | None = None, form: dict | None = None, errors: dict | None = None, status: int = 200):
    response = make_response(render_template(
        "account/tokens.html", token=token, tokens=api_tokens.tokens_of(current_user.id), scopes=SCOPES,
        form=form or {"scope": "read"}, errors=errors or {}, api=_api_base()), status)
    return _shown_once(response) if token else response


@bp.get("/account/tokens")
@login_required
def tokens_page():
    return _tokens_page()


@bp.post("/account/tokens")
@login_required
def token_create():
    form = {"name": request.form.get("name", ""), "scope": request.form.get("scope", "read")}
    try:
        token = api_tokens.issue_token(user_id=current_user.id, **form)
    except Invalid as error:
        return _tokens_page(form=form, errors={error.field or "name": error.message}, status=422)
    except DomainError as error:
        refuse(error)
    return _tokens_page(token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    try:
        row = api_tokens.revoke_token(user_id=current_user.id, token_id=token_id)
    except DomainError as error:
        refuse(error)
    flash(_("The token “%(name)s” is revoked: requests with it are refused from now on.", name=row.name))
    return see_other("/account/tokens")


# --- A group's bots --------------------------------------------------------------------------

def _bots_page(group, *, token: str | None = None, made: str | None = None, form: dict | None = None,
               errors: dict | None = None, status: int = 200):
    rows = bots.bots_of(group.id)
    response = make_response(render_template(
        "groups/bots.html", group=group, bots=rows, tokens=bots.live_tokens([b.id for b in rows]), token=token,
        made=made, scopes=SCOPES, form=form or {"scope": "write"}, errors=errors or {}, api=_api_base()), status)
    return _shown_once(response) if token else response


@bp.get("/g/<handle>/bots")
@login_required
def bots_page(handle: str):
    return _bots_page(admin_group_or_404(handle))


@bp.post("/g/<handle>/bots")
@login_required
def bot_create(handle: str):
    group = admin_group_or_404(handle)
    form = {"name": request.form.get("name", ""), "scope": request.form.get("scope", "write")}
    if form["scope"] not in TOKEN_SCOPES:
        form["scope"] = "write"
    try:
        bot, token = bots.create_bot(actor_id=current_user.id, group_id=group.id, **form)
    except Invalid as error:
        return _bots_page(group, form=form, errors={error.field or "name": error.message}, status=422)
    except DomainError as error:
        refuse(error)
    return _bots_page(group, token=token, made=bot.display_name)


@bp.post("/g/<handle>/bots/<int:bot_id>/token")
@login_required
def bot_token(handle: str, bot_id: int):
    group = admin_group_or_404(handle)
    try:
        token = bots.add_bot_token(actor_id=current_user.id, group_id=group.id, bot_id=bot_id,
                                   scope=request.form.get("scope", "write"))
    except Invalid as error:
        return _bots_page(group, errors={"scope": error.message}, status=422)
    except DomainError as error:
        refuse(error)
    return _bots_page(group, token=token)


@bp.post("/g/<handle>/bots/<int:bot_id>/tokens/<int:token_id>/revoke")
@login_required
def bot_token_revoke(handle: str, bot_id: int, token_id: int):
    group = admin_group_or_404(handle)
    try:
        bots.revoke_bot_token(actor_id=current_user.id, group_id=group.id, bot_id=bot_id, token_id=token_id)
    except DomainError as error:
        refuse(error)
    flash(_("The bot's token is revoked."))
    return see_other(f"/g/{group.handle}/bots")


@bp.post("/g/<handle>/bots/<int:bot_id>/retire")
@login_required
def bot_retire(handle: str, bot_id: int):
    group = admin_group_or_404(handle)
    try:
        bot = bots.retire_bot(actor_id=current_user.id, group_id=group.id, bot_id=bot_id)
    except DomainError as error:
        refuse(error)
    flash(_("%(name)s is retired: its tokens no longer work and it has left the group.", name=bot.display_name))
    return see_other(f"/g/{group.handle}/bots")
