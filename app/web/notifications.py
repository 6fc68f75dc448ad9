"""The bell: an unread count in the navigation and the /notifications page."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user, login_required

from ..services import notifications
from .helpers import see_other

bp = Blueprint("notifications", __name__)

DESCRIPTIONS = {
    "discussion_started": "started a thread",
    "comment_posted": "commented",
    "poll_created": "started a poll",
    "poll_closing_soon": "A poll you have not voted in closes soon",
    "poll_reminder": "reminded you to vote",
    "poll_closed": "A poll closed",
    "outcome_created": "shared a poll's outcome",
    "outcome_review_due": "A decision's review date has come",
}
REASONS = {"mention": "mentioned you", "reply": "replied to you", "poll": "asks for your vote",
           "notify": "asked for you to be told"}


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
