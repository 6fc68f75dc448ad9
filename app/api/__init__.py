"""The REST API under /api/v1/ (docs/API.md): operations described once (schema.py), dispatched by
one view (dispatch.py) that authenticates bearer tokens only, and answered through the services."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import operations  # noqa: F401  (registers every operation)
    from .dispatch import bp

    app.register_blueprint(bp)
