"""Small things every view needs: page-or-fragment rendering, 303 redirects, the client IP."""
from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from ..services.errors import DomainError, NotFound, RateLimited


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def page_or_fragment(page: str, fragment: str, **context):
    """One URL: the full page normally, just the fragment for htmx (with Vary set globally)."""
    return render_template(fragment if is_htmx() else page, **context)


def see_other(location: str):
    """303 after POST, so a refresh never repeats the action."""
    return redirect(location, code=303)


def client_ip() -> str:
    return request.remote_addr or "unknown"


def member_key() -> str:
    """Rate-limit a signed-in member's actions per member, not per address: an office shares one."""
    if current_user.is_authenticated:
        return f"member:{current_user.id}"
    return f"ip:{client_ip()}"


def require(allowed: bool, *, hide: bool = True):
    """Abort unless allowed: 404 when the thing must stay invisible, else 403."""
    if not allowed:
        abort(404 if hide else 403)


def signed_in_user():
    return current_user if current_user.is_authenticated else None


def sign_in_first(next_path: str | None = None):
    """Send a signed-out visitor to sign in, and back here afterwards (303 after a POST)."""
    return redirect(url_for("auth.login", next=next_path or request.path), code=303 if request.method == "POST" else 302)


def refuse(error: DomainError):
    """A refusal that is not a form error: 404 hides, 429 slows down, 403 explains."""
    if isinstance(error, NotFound):
        abort(404)
    if isinstance(error, RateLimited):
        abort(429)
    abort(403, description=error.message)


def download_name(name: str) -> dict:
    """Content-Disposition parameters for a file name (as Flask's send_file writes them): ASCII as
    is, anything else also in RFC 5987 form."""
    import unicodedata
    from urllib.parse import quote

    try:
        name.encode("ascii")
        return {"filename": name}
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return {"filename": simple, "filename*": "UTF-8''" + quote(name, safe="!#$&+-.^_`|~")}
