"""Group admins: mail to the group's address from unknown senders, held until allowed or blocked."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user, login_required

from .. import policy
from ..services import held_mail, memberships
from ..services.errors import DomainError
from .helpers import see_other
from .loaders import group_or_404

bp = Blueprint("held_mail", __name__)


def _admin_group(handle: str):
    group = group_or_404(handle)
    if not policy.can_manage_members(current_user, group):
        abort(404)  # the page does not exist for non-admins
    return group


@bp.get("/g/<handle>/held")
@login_required
def review(handle: str):
    group = _admin_group(handle)
    return render_template("groups/held.html", group=group, held=held_mail.held_for(current_user, group),
                           members=memberships.members_of(group.id))


@bp.post("/g/<handle>/held/<int:inbound_id>/allow")
@login_required
def allow(handle: str, inbound_id: int):
    group = _admin_group(handle)
    try:
        member_id = int(request.form.get("member_id", ""))
    except ValueError:
        member_id = 0
    try:
        held_mail.allow(current_user, group=group, inbound_id=inbound_id, member_id=member_id)
        flash("Allowed: the address is now the member's, and the message is being posted.")
    except DomainError as error:
        flash(error.message, "error")
    return see_other(f"/g/{group.handle}/held")


@bp.post("/g/<handle>/held/<int:inbound_id>/block")
@login_required
def block(handle: str, inbound_id: int):
    group = _admin_group(handle)
    try:
        held_mail.block(current_user, group=group, inbound_id=inbound_id)
        flash("Blocked: later mail from this address to the group is refused.")
    except DomainError as error:
        flash(error.message, "error")
    return see_other(f"/g/{group.handle}/held")
