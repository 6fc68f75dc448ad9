"""The member's own settings: profile, password, email preferences."""
from __future__ import annotations


from flask import Blueprint, flash, render_template, request
from flask_login import current_user, login_required

from ..auth_session import sign_out
from ..services import accounts
from ..services.errors import DomainError
from .helpers import see_other
from .. import timezones
from ..i18n import _
from flask_babel import refresh

bp = Blueprint("account", __name__)
def zones() -> tuple[str, ...]:
    return timezones.choices()


def _render(errors=None, status=200, **values):
    form = {"name": current_user.name, "time_zone": current_user.time_zone, "locale": current_user.locale, **values}
    return render_template("account/profile.html", form=form, errors=errors or {}, zones=zones(),
                           locales=[("", _("Not chosen: my group's default, else my browser's")),
                                    *accounts.LOCALES.items()], welcome=request.args.get("welcome")), status


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
    refresh()  # the flash below, and the page after, in the language just chosen
    flash(_("Your profile is saved."))
    return see_other("/account")


@bp.post("/account/password")
@login_required
def password_update():
    try:
        accounts.set_password(user_id=current_user.id, password=request.form.get("password", ""))
    except DomainError as error:
        return _render({"password": error.message}, 422)
    flash(_("Your password is saved.") if request.form.get("password") else _("Your password is removed."))
    return see_other("/account")


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    accounts.sign_out_everywhere(user_id=current_user.id)
    sign_out()
    return see_other("/login")


# --- addresses: the primary one, proven aliases, trusted sending services ---------------------

def _render_addresses(errors=None, status=200, **values):
    from ..services import addresses, sender_proof

    return render_template("account/addresses.html", errors=errors or {}, form=values,
                           aliases=addresses.aliases_of(current_user.id), pending=addresses.pending_of(current_user.id),
                           trusted=sender_proof.trusted_for(current_user.id)), status


@bp.get("/account/addresses")
@login_required
def addresses_page():
    return _render_addresses()


@bp.post("/account/addresses")
@login_required
def address_add():
    from ..services import addresses

    email, purpose = request.form.get("email", ""), request.form.get("purpose", "alias")
    try:
        proof = addresses.request_proof(user_id=current_user.id, email=email, purpose=purpose)
    except DomainError as error:
        return _render_addresses({"email": error.message}, 422, email=email, purpose=purpose)
    flash(_("We mailed a link to %(email)s. Open it to confirm the address is yours; until then nothing changes.",
            email=proof.email))
    return see_other("/account/addresses")


@bp.post("/account/addresses/<int:alias_id>/remove")
@login_required
def address_remove(alias_id: int):
    from ..services import addresses

    try:
        email = addresses.remove_alias(user_id=current_user.id, alias_id=alias_id)
        flash(_("%(email)s is no longer one of your addresses: mail from it is not posted as yours.", email=email))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/account/addresses")


@bp.post("/account/trusted/<int:trusted_id>/remove")
@login_required
def trusted_remove(trusted_id: int):
    from ..services import sender_proof

    try:
        sender_proof.forget_trusted(user_id=current_user.id, trusted_id=trusted_id)
        flash(_("That sending service is no longer trusted for your mail."))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/account/addresses")


def _proof_or_invalid(token: str):
    """(the address proof, None) or (None, the "not valid" page) for a mailed proof link."""
    from ..services import addresses

    proof = addresses.load_proof(token)
    if proof is None:
        return None, (render_template("mailactions/invalid.html", message=_("This link is not valid. It may be "
                                                "incomplete or too old. Ask for a new one on your account page.")), 400)
    return proof, None


@bp.get("/account/addresses/prove/<token>")
def address_proof(token: str):
    from ..services import addresses

    proof, invalid = _proof_or_invalid(token)
    if invalid:
        return invalid
    return render_template("account/prove.html", proof=proof, state=addresses.proof_state(proof),
                           post_url=f"/account/addresses/prove/{token}")


@bp.post("/account/addresses/prove/<token>")
def address_prove(token: str):
    from ..services import addresses

    proof, invalid = _proof_or_invalid(token)
    if invalid:
        return invalid
    try:
        addresses.prove(proof)
    except DomainError as error:
        return render_template("account/prove.html", proof=proof, state=addresses.proof_state(proof),
                               message=error.message, post_url=None), 410 if addresses.proof_state(proof) != "open" else 422
    return see_other(f"/account/addresses/prove/{token}")
