"""Email settings: digest off / daily / weekly, its day and hour, and each group's volume."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_login import current_user, login_required

from ..models import VOLUMES
from ..services import digests
from ..services.errors import DomainError
from .helpers import see_other
from ..i18n import _, _l

bp = Blueprint("digest_settings", __name__)

VOLUME_LABELS = {
    "all": _l("Every message"),
    "digest": _l("In my digest"),
    "mentions": _l("Only when mentioned or replied to"),
    "mute": _l("Nothing (mute)"),
}


def _hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


def _render(errors=None, status=200, form=None):
    memberships = digests.memberships_for_settings(current_user.id)
    values = {
        "frequency": current_user.digest_frequency,
        "weekday": str(current_user.digest_weekday),
        "hour": str(current_user.digest_hour),
        **{f"volume-{m.group_id}": m.volume for m, _count in memberships},
        **(form or {}),
    }
    return render_template(
        "account/email.html", form=values, errors=errors or {}, memberships=memberships,
        weekdays=_weekdays(), hours=[(h, _hour_label(h)) for h in range(24)],
        volumes=[(v, VOLUME_LABELS[v]) for v in VOLUMES],
    ), status


@bp.get("/account/email")
@login_required
def email_settings():
    return _render()


@bp.post("/account/email")
@login_required
def email_settings_update():
    form = {key: request.form.get(key, "") for key in ("frequency", "weekday", "hour")}
    volumes: dict[int, str] = {}
    for key, value in request.form.items():
        if key.startswith("volume-") and key[7:].isdigit():
            volumes[int(key[7:])] = value
            form[key] = value
    try:
        digests.save_settings(user_id=current_user.id, frequency=form["frequency"], weekday=form["weekday"],
                              hour=form["hour"], volumes=volumes)
    except DomainError as error:
        return _render({error.field or "frequency": error.message}, 422, form)
    flash(_("Your email settings are saved."))
    return see_other("/account/email")


def _weekdays() -> list[tuple[int, str]]:
    """Monday … Sunday in the reader's language (the stored value is the number)."""
    from babel.dates import get_day_names

    from ..i18n import current_locale

    names = get_day_names("wide", locale=current_locale())
    return [(day, names[day].capitalize()) for day in range(7)]
