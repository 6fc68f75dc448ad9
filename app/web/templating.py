"""Template helpers: hashed static URLs, markdown, dates, the policy module, a stable CSRF token."""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, Response, abort, request, send_from_directory, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from .. import policy
from ..rendering import render_markdown

ONE_YEAR = 365 * 24 * 3600


def _hash_static(folder: Path) -> dict[str, str]:
    """Map each static file to a name carrying its content hash (cache for a year, safely)."""
    mapping = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            rel = path.relative_to(folder).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            stem, dot, ext = rel.rpartition(".")
            mapping[rel] = f"{stem}.{digest}.{ext}" if dot else f"{rel}.{digest}"
    return mapping


def stable_csrf_token() -> str:
    """One signed CSRF token per session, so a page's HTML (and its ETag) is stable."""
    token = session.get("_csrf_signed")
    if not token:
        token = generate_csrf()
        session["_csrf_signed"] = token
    return token


def local_time(value: datetime | None, fmt: str = "%-d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    zone = "UTC"
    if getattr(current_user, "is_authenticated", False):
        zone = current_user.time_zone or "UTC"
    try:
        tz = ZoneInfo(zone)
    except Exception:  # an unknown zone name must not break a page
        tz = timezone.utc
    return value.astimezone(tz).strftime(fmt) + ("" if zone == "UTC" else "")


def iso(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else ""


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder)
    hashed = _hash_static(folder)
    reverse = {v: k for k, v in hashed.items()}
    app.extensions["quorum_static"] = hashed

    def static_url(filename: str) -> str:
        return "/s/" + hashed.get(filename, filename)

    gzipped: dict[str, bytes] = {}

    @app.route("/s/<path:hashed_name>")
    def static_hashed(hashed_name: str):
        original = reverse.get(hashed_name)
        if original is None:
            abort(404)
        if "gzip" in request.headers.get("Accept-Encoding", "") and original.endswith((".css", ".js", ".txt", ".svg")):
            if original not in gzipped:
                gzipped[original] = gzip.compress((folder / original).read_bytes(), compresslevel=9, mtime=0)
            mimetype = mimetypes.guess_type(original)[0] or "application/octet-stream"
            response = Response(gzipped[original], mimetype=mimetype)
            response.headers["Content-Encoding"] = "gzip"
            response.vary.add("Accept-Encoding")
        else:
            response = send_from_directory(folder, original, max_age=ONE_YEAR)
        response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
        return response

    app.jinja_env.globals.update(
        static_url=static_url,
        csrf_token=stable_csrf_token,
        policy=policy,
    )
    app.jinja_env.filters.update(markdown=render_markdown, local_time=local_time, iso=iso)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
