"""The bell: an unread count in the navigation and the /notifications page."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from ..services import notifications
from .helpers import see_other
from ..i18n import _l

bp = Blueprint("notifications", __name__)

DESCRIPTIONS = {
    "discussion_started": _l("started a thread"),
    "comment_posted": _l("commented"),
    "poll_created": _l("started a poll"),
    "poll_closing_soon": _l("A poll you have not voted in closes soon"),
    "poll_reminder": _l("reminded you to vote"),
    "poll_closed": _l("A poll closed"),
    "outcome_created": _l("shared a poll's outcome"),
    "outcome_review_due": _l("A decision's review date has come"),
}
# Shown after the actor's name ("Ana mentioned you"): in all six languages the subject comes first.
REASONS = {"mention": _l("mentioned you"), "reply": _l("replied to you"), "poll": _l("asks for your vote"),
           "notify": _l("asked for you to be told")}


@bp.get("/notifications")
@login_required
def index():
    items = notifications.recent(current_user.id)
    base = current_app.config["BASE_URL"]
    return render_template("notifications/index.html", items=items, descriptions=DESCRIPTIONS, reasons=REASONS,
                           base=base)


@bp.post("/notifications/read")
@login_required
def mark_read():
    notifications.mark_all_read(user_id=current_user.id)
    return see_other("/notifications")
