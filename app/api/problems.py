"""RFC 9457 problem details: every refusal the API gives, as application/problem+json."""
from __future__ import annotations

from flask import jsonify
from werkzeug.http import HTTP_STATUS_CODES


def problem(status: int, detail: str, *, errors: list[dict] | None = None):
    body = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(status, "Error"), "status": status,
            "detail": detail}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    response.headers["Cache-Control"] = "no-store"
    return response
