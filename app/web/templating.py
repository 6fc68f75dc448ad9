"""Template helpers: hashed static URLs, markdown, dates, the policy module, a stable CSRF token."""
from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, Response, abort, current_app, g, request, send_from_directory, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import pass_context
from markupsafe import Markup, escape

from ..i18n import current_locale, localized_time
from .. import policy, timezones
from ..models.users import greeting, initials_of, name_of
from ..services.polls.common import state_of as poll_state
from ..polls.base import counted
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


def _viewer_zone() -> str:
    if getattr(current_user, "is_authenticated", False):
        return current_user.time_zone or "UTC"
    return "UTC"


def local_time(value: datetime | None, fmt: str = "%-d %b %Y, %H:%M") -> str:
    """A time in the viewer's zone and language (app/i18n.py: the layouts and their CLDR skeletons)."""
    if value is None:
        return ""
    return localized_time(value, timezones.zone(_viewer_zone()), fmt)


def iso(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else ""


# --- Comment fragments ------------------------------------------------------------------
# A long thread renders the same comments over and over; each comment's HTML depends only on
# what goes into its key below, so it is rendered once per distinct key and reused (per process,
# least recently used first out). The CSRF token (per session) is never stored: the fragment is
# rendered with a placeholder, replaced by the reader's token on the way out.

CSRF_PLACEHOLDER = "\x00csrf\x00"  # cannot occur in rendered text (markdown turns NUL into U+FFFD)
FRAGMENT_CACHE_SIZE = 4096
_fragments: OrderedDict = OrderedDict()
_fragments_lock = threading.Lock()


class _ThreadView:
    """What every comment of one rendering shares (worked out once per template context)."""

    def __init__(self, context):
        self.discussion_id = context["discussion"].id
        self.perms = policy.thread_permissions(context["current_user"], context["discussion"])
        self.reactions = context.get("reactions") or {}
        self.attachments = context.get("attachments") or {}
        self.new_ids = context.get("new_ids") or ()
        self.first_new_id = context.get("first_new_id")
        self.titles = context.get("titles") or {}
        self.shared = (tuple(context.get("reaction_choices") or ()), _viewer_zone(), current_locale())
        self.csrf_token = context["csrf_token"]
        self.token = None

    def key(self, c, part: str) -> tuple:
        """Everything a comment's markup depends on (see _comment_macros.html)."""
        perms, author = self.perms, c.author
        return (
            part, c.id, self.discussion_id, c.id == self.first_new_id, c.parent_id, c.body, c.created_at, c.edited_at, c.deleted_at,
            author.display_name if author is not None else None, c.id in self.new_ids,
            perms.can_react, perms.can_comment, perms.can_edit(c), perms.can_delete(c),
            tuple((self.reactions.get(c.id) or {}).items()),
            tuple((a.id, a.filename, a.size) for a in self.attachments.get(c.id) or ()), self.shared,
            self.titles.get(c.author_id),
        )

    def with_token(self, html: str) -> str:
        if CSRF_PLACEHOLDER not in html:  # only a page with a form asks for a token (and so starts a session)
            return html
        if self.token is None:
            self.token = str(escape(self.csrf_token()))
        return html.replace(CSRF_PLACEHOLDER, self.token)


def _thread_view(context) -> _ThreadView:
    view = getattr(context, "_quorum_thread_view", None)
    if view is None or view.discussion_id != context["discussion"].id:
        view = context._quorum_thread_view = _ThreadView(context)
    return view


def _reloading() -> bool:
    return current_app.debug or current_app.config.get("TEMPLATES_AUTO_RELOAD")


@pass_context
def cached_comment(context, c, part: str, caller) -> Markup:
    """`{% call(token) cached_comment(c, part) %}…{{ token }}…{% endcall %}`: the body, rendered once per key."""
    view = _thread_view(context)
    if g.get("_quorum_comment_list"):  # inside a cached list: the list puts the reader's token in
        return Markup(str(caller(CSRF_PLACEHOLDER)) if _reloading() else _cached(view.key(c, part), caller))
    if _reloading():
        return Markup(view.with_token(str(caller(CSRF_PLACEHOLDER))))
    return Markup(view.with_token(_cached(view.key(c, part), caller)))


@pass_context
def cached_comment_list(context, caller) -> Markup:
    """`{% call(token) cached_comment_list() %}…{% endcall %}`: a page of comments with their replies,
    rendered once per the keys of every comment on it (so it changes whenever one of them would).
    A page holding an open reply form (its text, its errors) is rendered afresh."""
    view = _thread_view(context)
    if context.get("reply_to") or _reloading():
        return Markup(view.with_token(str(caller(CSRF_PLACEHOLDER))))
    replies = context.get("replies") or {}
    key = ("list", context.get("page"), bool(context.get("has_more")), tuple(
        (view.key(c, "article"), tuple(view.key(r, "article") for r in replies.get(c.id, ())))
        for c in context.get("comments") or ()))

    def render(token):
        g._quorum_comment_list = True
        try:
            return caller(token)
        finally:
            g._quorum_comment_list = False

    return Markup(view.with_token(_cached_list(key, render)))


def _cached(key: tuple, caller) -> str:
    with _fragments_lock:
        html = _fragments.get(key)
        if html is not None:
            _fragments.move_to_end(key)
    if html is None:
        html = str(caller(CSRF_PLACEHOLDER))
        with _fragments_lock:
            _fragments[key] = html
            while len(_fragments) > FRAGMENT_CACHE_SIZE:
                _fragments.popitem(last=False)
    return html


# Whole pages of comments are large (a 200-comment page is about 280 KB) and keyed per reader: kept in
# their own cache, bounded by the characters it holds rather than by a count.
LIST_CACHE_CHARS = 8_000_000
_lists: OrderedDict = OrderedDict()
_lists_size = 0


def _cached_list(key: tuple, caller) -> str:
    global _lists_size
    with _fragments_lock:
        html = _lists.get(key)
        if html is not None:
            _lists.move_to_end(key)
            return html
    html = str(caller(CSRF_PLACEHOLDER))
    if len(html) > LIST_CACHE_CHARS // 4:  # too big to be worth keeping
        return html
    with _fragments_lock:
        if key not in _lists:
            _lists[key] = html
            _lists_size += len(html)
        while _lists_size > LIST_CACHE_CHARS:
            _, dropped = _lists.popitem(last=False)
            _lists_size -= len(dropped)
    return html


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

    # Flask-WTF offers a fresh token per render through a context processor; a later processor
    # wins, so pages carry the session's one stable token (and an unchanged page keeps its ETag).
    app.context_processor(lambda: {"csrf_token": stable_csrf_token})
    app.jinja_env.globals.update(
        static_url=static_url,
        csrf_token=stable_csrf_token,
        policy=policy,
        cached_comment=cached_comment,
        cached_comment_list=cached_comment_list,
        name_of=name_of,
        greeting=greeting,
        poll_state=poll_state,
    )
    app.jinja_env.filters.update(markdown=render_markdown, local_time=local_time, iso=iso, initials=initials_of,
                                 counted=counted)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
