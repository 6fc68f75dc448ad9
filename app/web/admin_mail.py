"""Site operators: stored inbound mail that needs a person (held or failed), with reprocess and
discard. Only metadata is shown — never a message's content (operators do not read groups' mail)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, request
from flask_login import current_user, login_required

from .. import policy
from ..services import inbound, outbound
from ..services.errors import DomainError
from ..services.inbound import REVIEW_STATUSES
from .helpers import page_or_fragment, see_other
from ..i18n import _

bp = Blueprint("admin_mail", __name__)


def _operator():
    if not policy.is_operator(current_user):
        abort(404)  # the page does not exist for members
    return current_user


@bp.get("/admin/mail")
@login_required
def review():
    actor = _operator()
    status = request.args.get("status")
    status = status if status in REVIEW_STATUSES else None
    messages = inbound.for_review(actor, status=status)
    return page_or_fragment("admin/mail.html", "admin/_mail_rows.html", messages=messages, status=status,
                            statuses=REVIEW_STATUSES)


@bp.post("/admin/mail/<int:inbound_id>/reprocess")
@login_required
def reprocess(inbound_id: int):
    actor = _operator()
    try:
        row = inbound.reprocess(actor, inbound_id=inbound_id)
        flash(_("Message %(id)s is being processed again (now: %(status)s).", id=inbound_id, status=row.status))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/admin/mail")


@bp.post("/admin/mail/<int:inbound_id>/discard")
@login_required
def discard(inbound_id: int):
    actor = _operator()
    try:
        inbound.discard(actor, inbound_id=inbound_id)
        flash(_("Message %(id)s is discarded; its stored copy is deleted.", id=inbound_id))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/admin/mail")


@bp.get("/admin/mail/outbound")
@login_required
def outbound_review():
    actor = _operator()
    return page_or_fragment("admin/outbound.html", "admin/_outbound_rows.html", messages=outbound.for_review(actor))


@bp.post("/admin/mail/outbound/<int:message_id>/send-again")
@login_required
def send_again(message_id: int):
    actor = _operator()
    try:
        outbound.send_again(actor, message_id=message_id)
        flash(_("Message %(id)s is queued to be sent again.", id=message_id))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/admin/mail/outbound")
