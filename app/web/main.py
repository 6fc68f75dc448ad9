"""Home (the dashboard, or the welcome page) and the health check."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from ..extensions import db
from ..queue import redis_client

bp = Blueprint("main", __name__)


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return render_template("main/welcome.html")
    from ..services.dashboard import dashboard_for

    return render_template("main/dashboard.html", **dashboard_for(current_user))


@bp.get("/healthz")
def healthz():
    problems = {}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # report, never crash the health check
        problems["database"] = type(exc).__name__
    try:
        redis_client().ping()
    except Exception as exc:
        problems["redis"] = type(exc).__name__
    status = 503 if problems else 200
    body = {"status": "ok" if not problems else "down", "down": sorted(problems)}
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response
