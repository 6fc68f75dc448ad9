"""Atom feeds of groups and threads, and the member's feed token (account page).

An open group's feed needs nothing; a private group's is read with `?token=` (the member's feed
token: feed readers carry no cookies). A token that is wrong or revoked is 404 whatever the group,
so it tells nothing about which groups exist.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, render_template, request
from flask_login import current_user, login_required

from ..services import feeds
from ..services.errors import NotFound
from .helpers import see_other, signed_in_user
from ..i18n import _

bp = Blueprint("feeds", __name__)
ATOM_TYPE = "application/atom+xml"


def _reader():
    """Who is reading: the feed token's member when the address has one (404 when it is not valid),
    else whoever is signed in in this browser, else nobody."""
    token = request.args.get("token")
    if token is None:
        return signed_in_user(), False
    reader = feeds.reader_by_token(token)
    if reader is None:
        abort(404)
    return reader, True


def _atom(load, *args):
    reader, by_token = _reader()
    try:
        feed = load(reader, *args)
    except NotFound:
        abort(404)
    response = make_response(feeds.render_atom(feed))
    response.mimetype = ATOM_TYPE  # with "; charset=utf-8", as for every +xml type
    # A private feed is one member's: no shared cache keeps it, no search engine lists it.
    response.headers["Cache-Control"] = "private, no-cache" if by_token or reader is not None else "public, max-age=300"
    if by_token:
        response.headers["X-Robots-Tag"] = "noindex"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response  # gzip, ETag and 304 as for every page (app/web/__init__.py)


@bp.get("/g/<handle>/feed.atom")
def group_feed(handle: str):
    return _atom(feeds.group_feed, handle)


@bp.get("/d/<int:discussion_id>/feed.atom")
def thread_feed(discussion_id: int):
    return _atom(feeds.thread_feed, discussion_id)


# --- The member's feed token ------------------------------------------------------------

def _page(token: str | None = None, status: int = 200):
    response = make_response(render_template(
        "account/feeds.html", token=token, existing=feeds.feed_token_of(current_user.id),
        groups=feeds.member_groups(current_user.id), base=current_app.config["BASE_URL"].rstrip("/")), status)
    if token:
        response.headers["Cache-Control"] = "no-store"  # the one time the token is shown
    return response


@bp.get("/account/feeds")
@login_required
def feeds_page():
    return _page()


@bp.post("/account/feeds")
@login_required
def feed_token_issue():
    """Make a (new) feed token and show it, once: only its hash is kept, so this page is the only place."""
    return _page(feeds.issue_feed_token(user_id=current_user.id))


@bp.post("/account/feeds/revoke")
@login_required
def feed_token_revoke():
    if feeds.revoke_feed_token(user_id=current_user.id):
        flash(_("Your feed token is revoked: feed addresses with it no longer work."))
    return see_other("/account/feeds")
