"""A group's thread and poll templates, for its admins (hide, show, move up or down, delete, add: plain forms
that work without JavaScript), and "Save as template" on a thread or a poll."""
from __future__ import annotations

from flask import Blueprint, flash, render_template, request
from flask_login import current_user, login_required

from ..models import Group
from ..polls import POLL_TYPES
from ..polls.decision_processes import PROCESSES
from ..services import templates
from ..services.errors import DomainError
from .helpers import refuse, see_other
from .loaders import admin_group_or_404, discussion_or_404, poll_or_404
from ..i18n import _, _p

bp = Blueprint("group_templates", __name__)


def _page(group: Group, form: dict | None = None, errors: dict | None = None, status: int = 200):
    return render_template("groups/templates.html", group=group, entries=templates.listing(current_user, group),
                           form=form or {"kind": "thread"}, errors=errors or {},
                           poll_types=[(t.name, t.label) for t in POLL_TYPES.values()],
                           processes=[("", _p("decision process", "None"))] + [(p.name, p.label) for p in PROCESSES.values()]), status


@bp.get("/g/<handle>/templates")
@login_required
def index(handle: str):
    return _page(admin_group_or_404(handle))


@bp.post("/g/<handle>/templates")
@login_required
def add(handle: str):
    group = admin_group_or_404(handle)
    form = {k: request.form.get(k, "") for k in ("kind", "name", "title", "details", "poll_type", "process", "options")}
    try:
        templates.add_template(actor_id=current_user.id, group_id=group.id, kind=form["kind"], name=form["name"],
                               title=form["title"], details=form["details"], poll_type=form["poll_type"] or None,
                               process=form["process"] or None,
                               options=[line for line in form["options"].splitlines() if line.strip()])
    except DomainError as error:
        if not error.field:
            refuse(error)
        return _page(group, form, {error.field: error.message}, 422)
    flash(_("The template “%(name)s” is added at the end of the list.", name=form["name"].strip()), "success")
    return see_other(f"/g/{group.handle}/templates")


@bp.post("/g/<handle>/templates/<ref>/<any(up, down, hide, show, delete):action>")
@login_required
def change(handle: str, ref: str, action: str):
    group = admin_group_or_404(handle)
    try:
        if action in ("up", "down"):
            templates.move_template(actor_id=current_user.id, group_id=group.id, ref=ref, direction=action)
        elif action == "delete":
            templates.delete_template(actor_id=current_user.id, group_id=group.id, ref=ref)
        else:
            templates.set_hidden(actor_id=current_user.id, group_id=group.id, ref=ref, hidden=action == "hide")
    except DomainError as error:
        refuse(error)
    messages = {"up": _("Moved up."), "down": _("Moved down."), "delete": _("The template is deleted."),
                "hide": _("Hidden: it is no longer offered when someone starts a thread or a poll."),
                "show": _("Shown again when someone starts a thread or a poll.")}
    flash(messages[action], "success")
    return see_other(f"/g/{group.handle}/templates")


@bp.post("/d/<int:discussion_id>/save-template")
@login_required
def save_thread(discussion_id: int):
    discussion = discussion_or_404(discussion_id)
    try:
        templates.save_thread_as_template(actor_id=current_user.id, discussion_id=discussion.id,
                                          name=request.form.get("name", ""))
    except DomainError as error:
        refuse(error)
    flash(_("Saved as a template: it is offered when someone starts a thread here."), "success")
    return see_other(f"/g/{discussion.group.handle}/templates")


@bp.post("/p/<int:poll_id>/save-template")
@login_required
def save_poll(poll_id: int):
    poll = poll_or_404(poll_id)
    try:
        templates.save_poll_as_template(actor_id=current_user.id, poll_id=poll.id, name=request.form.get("name", ""))
    except DomainError as error:
        refuse(error)
    from .. import policy

    flash(_("Saved as a template: it is offered when someone starts a poll here."), "success")
    return see_other(f"/g/{policy.poll_group(poll).handle}/templates")
