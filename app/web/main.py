"""Home (the dashboard, or the welcome page), the health check and the favicon."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, send_from_directory
from flask_login import current_user

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    from ..services.dashboard import dashboard_for

    return render_template("main/dashboard.html", **dashboard_for(current_user))


@bp.get("/favicon.ico")
def favicon():
    """Every browser asks for it on a first visit: 140 bytes, cached for a year."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/x-icon",
                               max_age=31536000)


@bp.get("/healthz")
def healthz():
    """Each part's state as JSON; 503 when any part is not up (app/health.py)."""
    from ..health import report

    body = report(current_app._get_current_object())
    response = jsonify(body)
    response.status_code = 200 if body["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response
