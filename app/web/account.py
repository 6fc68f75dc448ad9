"""The member's own settings: profile, password, email preferences."""
from __future__ import annotations


from flask import Blueprint, flash, render_template, request
from flask_login import current_user, login_required

from ..auth_session import sign_out
from ..services import accounts
from ..services.errors import DomainError
from .helpers import see_other
from .. import timezones

bp = Blueprint("account", __name__)
def zones() -> tuple[str, ...]:
    return timezones.choices()


def _render(errors=None, status=200, **values):
    form = {"name": current_user.name, "time_zone": current_user.time_zone, "locale": current_user.locale, **values}
    return render_template("account/profile.html", form=form, errors=errors or {}, zones=zones(),
                           locales=accounts.LOCALES, welcome=request.args.get("welcome")), status


@bp.get("/account")
@login_required
def profile():
    return _render()


@bp.post("/account")
@login_required
def profile_update():
    values = {key: request.form.get(key, "") for key in ("name", "time_zone", "locale")}
    try:
        accounts.update_profile(user_id=current_user.id, **values)
    except DomainError as error:
        return _render({error.field or "name": error.message}, 422, **values)
    flash("Your profile is saved.")
    return see_other("/account")


@bp.post("/account/password")
@login_required
def password_update():
    try:
        accounts.set_password(user_id=current_user.id, password=request.form.get("password", ""))
    except DomainError as error:
        return _render({"password": error.message}, 422)
    flash("Your password is saved." if request.form.get("password") else "Your password is removed.")
    return see_other("/account")


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    accounts.sign_out_everywhere(user_id=current_user.id)
    sign_out()
    return see_other("/login")
