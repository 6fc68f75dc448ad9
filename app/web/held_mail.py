"""Group admins: mail to the group's address from unknown senders, held until allowed or blocked."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user, login_required

from .. import policy
from ..services import held_mail
from ..services.errors import DomainError
from .helpers import see_other
from .loaders import group_or_404
from ..i18n import _

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
    return render_template("groups/held.html", group=group, held=held_mail.held_for(current_user, group))


@bp.post("/g/<handle>/held/<int:inbound_id>/post")
@login_required
def post_once(handle: str, inbound_id: int):
    group = _admin_group(handle)
    try:
        held_mail.post_once(current_user, group=group, inbound_id=inbound_id)
        flash(_("Posted once, as a message from its sender (who is not a member)."))
    except DomainError as error:
        flash(error.message, "error")
    return see_other(f"/g/{group.handle}/held")


@bp.post("/g/<handle>/held/<int:inbound_id>/invite")
@login_required
def invite(handle: str, inbound_id: int):
    group = _admin_group(handle)
    try:
        held_mail.invite_sender(current_user, group=group, inbound_id=inbound_id)
        flash(_("Invited: the invitation went to the sender's address; the held message was not posted."))
    except DomainError as error:
        flash(error.message, "error")
    return see_other(f"/g/{group.handle}/held")


@bp.post("/g/<handle>/held/<int:inbound_id>/block")
@login_required
def block(handle: str, inbound_id: int):
    group = _admin_group(handle)
    try:
        held_mail.block(current_user, group=group, inbound_id=inbound_id)
        flash(_("Blocked: later mail from this address to the group is refused."))
    except DomainError as error:
        flash(error.message, "error")
    return see_other(f"/g/{group.handle}/held")
