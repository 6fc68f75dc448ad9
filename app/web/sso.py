"""Single sign-on: a button per OpenID provider on the sign-in page, and the provider's way back.

The way back is a GET (a redirect from the provider), and a GET changes nothing here: it shows a
"Continue" form carrying the provider's answer, which a line of static/signin.js submits at once (with
JavaScript off, the person presses the button). The POST, with this browser's CSRF token and the
state this browser was given, signs in.
"""
from __future__ import annotations

import secrets

from flask import Blueprint, render_template, request, session

from .. import policy
from ..extensions import limiter
from ..services import sso
from ..services.errors import DomainError, NotAllowed, NotFound
from .helpers import client_ip, see_other
from ..i18n import _

bp = Blueprint("sso", __name__)
ANSWER_FIELDS = ("state", "code", "error", "iss")


def _refused(message: str, status: int):
    from .auth import login_page

    return login_page(errors={"sso": message}, status=status)


@bp.post("/login/sso/<name>")
@limiter.limit("30 per hour", key_func=client_ip)
def start(name: str):
    """A POST (with CSRF), so no page elsewhere can start a sign-in in this browser's name."""
    if not policy.may_sign_in_with("oidc"):
        return _refused(_("Single sign-on is not offered here."), 403)
    try:
        url, state = sso.begin(name=name, next_path=request.form.get("next") or None)
    except NotFound as error:
        return _refused(error.message, 404)
    except DomainError as error:
        return _refused(error.message, 502)
    session["sso_state"] = state  # the answer must come back to the browser that asked
    return see_other(url)


@bp.get("/login/sso/<name>/callback")
def callback(name: str):
    if not policy.may_sign_in_with("oidc"):
        return _refused(_("Single sign-on is not offered here."), 403)
    try:
        label = sso.provider(name)["label"]
    except NotFound as error:
        return _refused(error.message, 404)
    answer = {key: request.args.get(key, "")[:2000] for key in ANSWER_FIELDS}
    return render_template("auth/sso_continue.html", name=name, label=label, answer=answer)


@bp.post("/login/sso/<name>/callback")
@limiter.limit("30 per hour", key_func=client_ip)
def callback_submit(name: str):
    from .auth import finish_sign_in

    if not policy.may_sign_in_with("oidc"):
        return _refused(_("Single sign-on is not offered here."), 403)
    args = {key: request.form.get(key, "") for key in ANSWER_FIELDS}
    expected = session.pop("sso_state", None) or ""
    if not expected or not secrets.compare_digest(expected.encode(), args["state"].encode()):
        return _refused(_("This sign-in was not started in this browser, or was already used. Please start again."),
                        400)
    try:
        user, next_path = sso.finish(name=name, args=args, ip=client_ip(), user_agent=request.user_agent.string)
    except NotFound as error:
        return _refused(error.message, 404)
    except NotAllowed as error:
        return _refused(error.message, 403)
    except DomainError as error:
        return _refused(error.message, 400)
    return finish_sign_in(user, next_path)
