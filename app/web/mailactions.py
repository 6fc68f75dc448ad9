"""One-click footer links from emails (no sign-in needed) and the RFC 8058 unsubscribe endpoint.

GET shows one button and changes nothing (mail scanners open links); the POST acts.
A link is refused when forged, too old or revoked, and once its effect is in place
(a second POST of the same link changes nothing and says so).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from ..email import links, outbox
from ..extensions import csrf
from ..services import notifications, sender_proof
from ..services.errors import DomainError
from .helpers import see_other
from ..i18n import _l

bp = Blueprint("mailactions", __name__)

BAD_LINK = _l("This link is not valid. It may be incomplete, too old, or replaced by a newer email. "
               "Use the links in your latest email, or sign in to change your email settings.")


def _load(action: str, token: str):
    if action not in links.FOOTER_ACTIONS:
        abort(404)
    payload = links.verify(token, action)
    if payload is None:
        return None, (render_template("mailactions/invalid.html", message=BAD_LINK), 400)
    try:
        return (notifications.describe_action(action, payload), payload), None
    except DomainError as error:
        return None, (render_template("mailactions/invalid.html", message=error.message), 410)


@bp.get("/m/<action>/<token>")
def confirm(action: str, token: str):
    loaded, error = _load(action, token)
    if error:
        return error
    described, _payload = loaded
    return render_template("mailactions/confirm.html", item=described, action=action,
                           post_url=f"/m/{action}/{token}")


@bp.post("/m/<action>/<token>")
def act(action: str, token: str):
    loaded, error = _load(action, token)
    if error:
        return error
    described, payload = loaded
    if described.done:
        # The link was used already (or the member did this another way): change nothing, say so.
        return render_template("mailactions/done.html", item=described, action=action, already=True), 410
    notifications.apply_action(action, payload)
    return see_other(f"/m/{action}/{token}/done")


@bp.get("/m/<action>/<token>/done")
def done(action: str, token: str):
    loaded, error = _load(action, token)
    if error:
        return error
    described, _payload = loaded
    return render_template("mailactions/done.html", item=described, action=action, already=False)


# GET (and HEAD, which Flask answers with the GET view) only points at the confirm page; the
# RFC 8058 POST acts. Separate views per method, so no branch on request.method can be fooled.
@bp.get("/m/one-click/<token>")
def one_click_page(token: str):
    return see_other(f"/m/unsubscribe_group/{token}")


@bp.post("/m/one-click/<token>")
@csrf.exempt  # RFC 8058: mail providers POST here without cookies; the signed token authenticates
def one_click(token: str):
    return _one_click("unsubscribe_group", token)


@bp.get("/m/one-click/<action>/<token>")
def one_click_action_page(action: str, token: str):
    if action not in links.ONE_CLICK_ACTIONS:
        abort(404)
    return see_other(f"/m/{action}/{token}")


@bp.post("/m/one-click/<action>/<token>")
@csrf.exempt  # the same, for digests (`digest_off`)
def one_click_action(action: str, token: str):
    if action not in links.ONE_CLICK_ACTIONS:
        abort(404)
    return _one_click(action, token)


def _one_click(action: str, token: str):
    loaded, error = _load(action, token)
    if error:
        return error
    described, payload = loaded
    if described.done:
        return render_template("mailactions/done.html", item=described, action=action, already=True), 410
    described = notifications.apply_action(action, payload)
    return render_template("mailactions/done.html", item=described, action=action, already=False)


# --- "Did you send this?" (app/services/sender_proof.py) -----------------------------------

def _confirmation(token: str):
    row = sender_proof.load(token)
    if row is None:
        return None, (render_template("mailactions/invalid.html", message=BAD_LINK), 400)
    return row, None


@bp.get("/confirm/<token>")
def sender_confirmation(token: str):
    row, error = _confirmation(token)
    if error:
        return error
    return render_template("mailactions/sender_confirm.html", row=row, state=sender_proof.state(row),
                           post_url=f"/confirm/{token}")


@bp.post("/confirm/<token>")
def sender_confirm(token: str):
    row, error = _confirmation(token)
    if error:
        return error
    try:
        sender_proof.confirm(row, trust=request.form.get("trust") == "1")
    except sender_proof.AlreadyDecided as decided:
        return render_template("mailactions/sender_confirm.html", row=row, state=sender_proof.state(row),
                               message=decided.message, post_url=None), 410
    return see_other(f"/confirm/{token}")


@bp.get("/dev/outbox")
def dev_outbox():
    """The last 100 outbound messages, for development only (404 unless debugging is on)."""
    if not (current_app.debug or current_app.config.get("DEBUG")):
        abort(404)
    rows = outbox.recent()
    wanted = request.args.get("id", "")
    selected = next((row for row in rows if wanted.isdigit() and row.id == int(wanted)), None)
    return render_template("mailactions/dev_outbox.html", rows=rows, selected=selected)
