"""Blueprints: forms in, one service call, template out. The factory registers them, and the
app-wide behaviour of every page (error pages, compression and ETags, input guards, the nav)."""
from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict

from flask import Flask, render_template, request
from flask_login import current_user

from ..i18n import _, _l


def register(app: Flask) -> None:
    """Every blueprint, one per area."""
    from . import (account, admin_mail, auth, digest_settings, discussions, feeds, groups, held_mail, mailactions,
                   main, notifications, polls, search, stewardship, webhooks)
    from . import people

    for module in (stewardship, main, auth, account, digest_settings, polls, mailactions, notifications, groups,
                   discussions, feeds, webhooks, search, admin_mail, held_mail):
        app.register_blueprint(module.bp)
    from . import group_templates

    app.register_blueprint(group_templates.bp)

    from . import api_tokens  # personal access tokens and group bots (the API itself: app/api/)

    app.register_blueprint(api_tokens.bp)

    from . import passkeys, sso

    for module in (sso, passkeys):
        app.register_blueprint(module.bp)
    app.register_blueprint(people.bp)

    from . import site_admin

    app.register_blueprint(site_admin.bp)


def register_nav(app: Flask) -> None:
    @app.context_processor
    def notification_count():
        """`notification_count` for templates/_nav.html: one query, only for signed-in members."""
        if not getattr(current_user, "is_authenticated", False):
            return {}
        from ..services import notifications

        return {"notification_count": notifications.unread_count(current_user.id)}


def register_input_guards(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes():
        """No URL we serve contains a NUL byte, and PostgreSQL refuses them in text: answer, don't crash."""
        from flask import abort

        if "\x00" in request.path:
            abort(404)
        if any("\x00" in key or "\x00" in value for key, values in request.args.lists() for value in values):
            abort(400)


def register_error_pages(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    def page(code: int, title: str, message: str):
        if request.headers.get("HX-Request"):
            return render_template("errors/_message.html", title=title, message=message), code
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return page(400, _("This form has expired"), _("Please go back, reload the page and try again. Nothing was changed."))

    @app.errorhandler(400)
    def bad_request(error):
        return page(400, _("Bad request"), _("Something in that request did not make sense. Nothing was changed."))

    @app.errorhandler(403)
    def forbidden(error):
        return page(403, _("Not allowed"), getattr(error, "description", None) or _("You are not allowed to do that."))

    @app.errorhandler(404)
    def not_found(error):
        return page(404, _("Not found"), _("There is nothing here, or you do not have access to it."))

    @app.errorhandler(405)
    def method_not_allowed(error):
        return page(405, _("Not allowed"), _("That page does not accept this kind of request."))

    @app.errorhandler(410)
    def gone(error):
        return page(410, _("Link expired"), getattr(error, "description", None) or _("That link has expired."))

    @app.errorhandler(413)
    def too_large(error):
        return page(413, _("Too large"), _("That upload is larger than this site accepts. Nothing was changed."))

    @app.errorhandler(429)
    def too_many(error):
        return page(429, _("Slow down"), _("Too many attempts. Please wait a few minutes and try again."))

    from sqlalchemy.exc import DBAPIError

    @app.errorhandler(DBAPIError)
    def database_error(error):
        """The database away, restarting or locked: 503 and a time to retry, on a page that needs no
        database to render. Anything else the database says is a bug: the usual 500."""
        from ..db import unavailable

        # Nothing of this request is half-written: its transaction never committed, and the
        # session is removed (rolled back) when the request ends.
        if not unavailable(error):
            app.logger.exception("database error on %s %s", request.method, request.path, exc_info=error)
            return server_error(error)
        app.logger.warning("database unavailable on %s %s: %s", request.method, request.path,
                           str(getattr(error, "orig", error)).splitlines()[0][:200])
        # Straight from Jinja: render_template's context processors would ask who is signed in. The
        # language from the browser alone: the member's own setting would need the database.
        from ..i18n import LOCALES, in_locale

        with in_locale(request.accept_languages.best_match(LOCALES)):
            if request.headers.get("HX-Request"):
                body = app.jinja_env.get_template("errors/_message.html").render(
                    title=_("Back in a moment"),
                    message=_("Quorum cannot reach its database just now. Nothing was saved; try again in a few "
                              "seconds."))
            else:
                body = app.jinja_env.get_template("errors/unavailable.html").render()
        return body, 503, {"Retry-After": "10", "Cache-Control": "no-store"}

    from ..storage import StorageError

    @app.errorhandler(StorageError)
    def storage_error(error):
        """The file store (an S3 bucket) not answering: 503, try again; nothing half-written."""
        app.logger.warning("file store unavailable on %s %s: %s", request.method, request.path, str(error)[:200])
        response = page(503, _("Back in a moment"), _("Quorum cannot reach its file store just now. Nothing was "
                                              "saved; try again in a few seconds."))
        return response

    @app.errorhandler(500)
    def server_error(error):
        return page(500, _("Something went wrong"),
                    _("Sorry: that failed on our side. Nothing you sent was lost; try again in a moment."))


COMPRESSIBLE = ("text/html", "application/atom+xml", "text/css", "application/javascript", "text/javascript", "text/plain", "application/json", "text/csv")


SIDE_EFFECTS_WAITING = _l("Saved. Email and notifications about it will go out as soon as our job queue is back: "
                           "it is briefly unavailable, and nothing is lost.")


GZIP_MEMO_SIZE = 64
GZIP_MEMO_LARGEST = 128 * 1024  # compressed bytes: at most 8 MB kept
_gzip_memo: OrderedDict = OrderedDict()
_gzip_memo_lock = threading.Lock()


def _gzipped(data: bytes) -> bytes:
    """gzip of a body, remembered by the body's SHA-256 for the last few bodies: a page reloaded
    unchanged (the same reader, the same content) costs a hash instead of another compression."""
    key = (hashlib.sha256(data).digest(), len(data))
    with _gzip_memo_lock:
        packed = _gzip_memo.get(key)
        if packed is not None:
            _gzip_memo.move_to_end(key)
            return packed
    packed = gzip.compress(data, compresslevel=6, mtime=0)  # mtime=0: identical pages, identical bytes (and ETag)
    if len(packed) > GZIP_MEMO_LARGEST:  # an export or a feed: compressed each time, never kept
        return packed
    with _gzip_memo_lock:
        _gzip_memo[key] = packed
        while len(_gzip_memo) > GZIP_MEMO_SIZE:
            _gzip_memo.popitem(last=False)
    return packed


def register_response_helpers(app: Flask) -> None:
    @app.after_request
    def compressed_and_conditional(response):
        """Gzip text responses, then tag the bytes actually sent so If-None-Match can match them."""
        if (
            response.status_code == 200
            and not response.direct_passthrough
            and response.mimetype in COMPRESSIBLE
            and "gzip" in request.headers.get("Accept-Encoding", "")
            and "Content-Encoding" not in response.headers
        ):
            data = response.get_data()
            if len(data) > 600:
                response.set_data(_gzipped(data))
                response.headers["Content-Encoding"] = "gzip"
                response.vary.add("Accept-Encoding")
        if request.method == "GET" and response.status_code == 200 and not response.direct_passthrough:
            if response.mimetype in ("text/html", "application/atom+xml"):  # pages, and feeds readers poll
                response.vary.add("HX-Request")
                response.vary.add("Cookie")
                response.headers.setdefault("Cache-Control", "private, no-cache")
                response.add_etag()
                response.make_conditional(request)
        return response

    @app.after_request
    def say_what_waits(response):
        """A change was saved while Redis was away (app/dispatch.py): tell the person its mail waits.
        Registered last, so it runs before compression (Flask runs after_request hooks last-first)."""
        from flask import flash, g
        from markupsafe import escape

        if not g.get("side_effects_waiting"):
            return response
        if response.status_code in (301, 302, 303):
            flash(str(SIDE_EFFECTS_WAITING), "warning")  # shown on the page the redirect leads to
        elif request.headers.get("HX-Request") and response.mimetype == "text/html" and not response.direct_passthrough:
            response.set_data(response.get_data() + (
                f'<div id="flashes" class="flashes" role="status" hx-swap-oob="true">'
                f'<p class="flash warning">{escape(str(SIDE_EFFECTS_WAITING))}</p></div>').encode())
        return response
