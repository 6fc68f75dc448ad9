"""A group's outgoing webhooks, for its admins: add (address, format, kinds of event), see each
delivery and its answer, turn a disabled one back on, remove."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_login import current_user, login_required

from ..models import WEBHOOK_EVENTS, WEBHOOK_FORMATS, Group
from ..services import webhooks
from ..services.errors import DomainError, NotAllowed, NotFound
from .helpers import refuse, see_other
from .loaders import admin_group_or_404
from ..i18n import _

bp = Blueprint("webhooks", __name__)




def _page(group: Group, form: dict | None = None, errors: dict | None = None, status: int = 200):
    return render_template("groups/webhooks.html", group=group, hooks=webhooks.webhooks_page(current_user, group),
                           form=form or {"format": "json", "events": list(WEBHOOK_EVENTS)}, errors=errors or {},
                           formats=[(f, webhooks.FORMAT_LABELS[f]) for f in WEBHOOK_FORMATS],
                           kinds=[(k, webhooks.EVENT_LABELS[k]) for k in WEBHOOK_EVENTS]), status


@bp.get("/g/<handle>/webhooks")
@login_required
def index(handle: str):
    return _page(admin_group_or_404(handle))


@bp.post("/g/<handle>/webhooks")
@login_required
def add(handle: str):
    group = admin_group_or_404(handle)
    form = {"url": request.form.get("url", ""), "format": request.form.get("format", ""),
            "events": request.form.getlist("events")}
    try:
        webhooks.add_webhook(actor_id=current_user.id, group_id=group.id, **form)
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        return _page(group, form, {error.field or "url": error.message}, 422)
    flash(_("The webhook is added: the kinds of event you chose are posted to it from now on."))
    return see_other(f"/g/{group.handle}/webhooks")


@bp.post("/g/<handle>/webhooks/<int:webhook_id>/<any(remove, enable):action>")
@login_required
def change(handle: str, webhook_id: int, action: str):
    group = admin_group_or_404(handle)
    try:
        if action == "remove":
            webhooks.remove_webhook(actor_id=current_user.id, group_id=group.id, webhook_id=webhook_id)
        else:
            webhooks.enable_webhook(actor_id=current_user.id, group_id=group.id, webhook_id=webhook_id)
    except DomainError as error:
        refuse(error)
    flash(_("The webhook is removed.") if action == "remove" else _("The webhook is on again."))
    return see_other(f"/g/{group.handle}/webhooks")
