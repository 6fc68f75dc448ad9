"""Threads in the browser: start, read, comment, reply, react, attach, edit, history, moderate.

Every action is a plain form answered with 303; with htmx the same URL answers with the
fragment to swap in place (a new comment, a reaction bar, an edited comment, more comments).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, abort, flash, make_response, render_template, request
from flask_login import current_user, login_required

from .. import policy
from ..extensions import limiter

from ..models import REACTIONS, Comment, Group, utcnow
from ..services import attachments, discussions
from ..services.errors import DomainError, NotFound
from .helpers import download_name, is_htmx, member_key, refuse, see_other, signed_in_user
from .loaders import attachment_or_404, comment_or_404, discussion_or_404, group_or_404, thread_page_or_404
from .people import notify_choices, notify_from_form, say_left_out
from ..i18n import _, _n

bp = Blueprint("discussions", __name__)


def _files() -> list[tuple[str, bytes]]:
    return [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and (f.filename or "")]


# --- Start a thread -------------------------------------------------------------------

def _group_for_new(handle: str) -> Group:
    group = group_or_404(handle)
    if not policy.can_start_thread(current_user, group):
        abort(403, description=_("You cannot start threads in this group."))
    return group


@bp.get("/g/<handle>/d/new")
@login_required
def new(handle: str):
    group = _group_for_new(handle)
    from ..services import templates

    form = {}
    if request.args.get("template"):  # start from a template: its words fill the form
        try:
            chosen = templates.template_of(current_user, group, request.args["template"], "thread")
        except DomainError:
            abort(404)
        form = {"title": chosen.title, "body": chosen.details}
    return render_template("discussions/new.html", group=group, form=form, errors={},
                           allowed=attachments.allowed_extensions(),
                           templates=templates.offered(current_user, group, "thread"),
                           notify_choices=notify_choices(group, current_user))


@bp.post("/g/<handle>/d/new")
@login_required
@limiter.limit("60 per hour", key_func=member_key)
def create(handle: str):
    group = _group_for_new(handle)
    form = {"title": request.form.get("title", ""), "body": request.form.get("body", "")}
    try:
        discussion = discussions.start_thread(actor_id=current_user.id, group_id=group.id, files=_files(),
                                              notify=notify_from_form(request.form), **form)
    except DomainError as error:
        if not error.field:
            refuse(error)
        form |= {"notify": request.form.get("notify", "")[:2000], "notify_groups": request.form.getlist("notify_groups")}
        return render_template("discussions/new.html", group=group, form=form, errors={error.field: error.message},
                               allowed=attachments.allowed_extensions(),
                               notify_choices=notify_choices(group, current_user)), 422
    say_left_out(discussion)
    return see_other(f"/d/{discussion.id}")


# --- The thread page ------------------------------------------------------------------

def _page_context(discussion_id: int, page: int = 1) -> dict:
    context = thread_page_or_404(discussion_id, page)
    context["allowed"] = attachments.allowed_extensions()
    return context


@bp.get("/d/<int:discussion_id>")
def show(discussion_id: int):
    page = request.args.get("page", 1, type=int) or 1
    context = _page_context(discussion_id, page)
    if is_htmx() and page > 1:
        return render_template("discussions/_comments_page.html", **context)
    reply_to = request.args.get("reply", type=int)
    response = make_response(render_template("discussions/show.html", form={}, errors={}, reply_to=reply_to,
                                             **context))
    # Reading records how far this member has read (their own read position; nothing else changes),
    # unless it was recorded moments ago and nothing was added since (a reload need not write).
    if (context["membership"] is not None or context.get("is_guest")) and not _read_just_now(
            context["read_state"], context["discussion"]):
        discussions.mark_read(user_id=current_user.id, discussion_id=discussion_id)
    return response


READ_AGAIN_AFTER = timedelta(seconds=60)


def _read_just_now(state, discussion) -> bool:
    if state is None or state.last_read_at is None or state.read_comments_count != discussion.comments_count:
        return False
    read_at = _aware(state.last_read_at)
    if discussion.last_activity_at is not None and read_at < _aware(discussion.last_activity_at):
        return False
    return read_at > utcnow() - READ_AGAIN_AFTER


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


@bp.post("/d/<int:discussion_id>/comments")
@login_required
@limiter.limit("120 per hour", key_func=member_key)
def comment(discussion_id: int):
    body = request.form.get("body", "")
    parent_id = request.form.get("parent_id", type=int)
    try:
        new = discussions.post_comment(actor_id=current_user.id, discussion_id=discussion_id, body=body,
                                       parent_id=parent_id, files=_files())
    except DomainError as error:
        if not error.field:
            refuse(error)
        return _comment_form_error(discussion_id, parent_id, body, {error.field: error.message})
    if is_htmx():
        context = _item_context(new)
        return render_template("discussions/_comment_posted.html", c=new, allowed=attachments.allowed_extensions(),
                               **context)
    return see_other(f"/d/{discussion_id}#c{new.id}")


def _comment_form_error(discussion_id: int, parent_id: int | None, body: str, errors: dict):
    body = body[:discussions.BODY_MAX]  # keep the text to trim, but never echo megabytes back
    if is_htmx():
        discussion = discussion_or_404(discussion_id)
        response = make_response(render_template(
            "discussions/_comment_form.html", discussion=discussion, parent_id=parent_id, form={"body": body},
            errors=errors, allowed=attachments.allowed_extensions(), oob=False), 422)
        response.headers["HX-Retarget"] = f"#reply-slot-{parent_id}" if parent_id else "#comment-form"
        response.headers["HX-Reswap"] = "innerHTML" if parent_id else "outerHTML"
        return response
    context = _page_context(discussion_id)
    targets = {"body": f"f-body{parent_id}"} if parent_id else {}  # a reply's own textarea
    return render_template("discussions/show.html", form={"body": body}, errors=errors, reply_to=parent_id,
                           error_targets=targets, **context), 422


def _item_context(comment: Comment) -> dict:
    user = signed_in_user()
    reactions = discussions.reaction_summary(comment.discussion_id, user, comment.id, only_item=True)
    files = {comment.id: discussions.attachments_of(comment.id)}
    return {"discussion": comment.discussion, "reactions": reactions, "attachments": files,
            "replies": {}, "new_ids": set(), "first_new_id": None, "reply_to": None,
            "reaction_choices": REACTIONS, "titles": _titles(comment.discussion.group_id)}


def _titles(group_id: int) -> dict:
    from ..services.mentions import titles_in

    return titles_in(group_id)


@bp.get("/c/<int:comment_id>")
def comment_item(comment_id: int):
    """A comment on its own: its fragment for htmx (e.g. cancelling an edit), else its place in the thread."""
    comment = comment_or_404(comment_id)
    if is_htmx():
        return render_template("discussions/_comment_item.html", c=comment, **_item_context(comment))
    return see_other(f"/d/{comment.discussion_id}#c{comment.id}")


@bp.get("/c/<int:comment_id>/reply")
@login_required
def reply_form(comment_id: int):
    comment = comment_or_404(comment_id)
    discussion = comment.discussion
    if not policy.can_comment(current_user, discussion):
        abort(403, description=_("You cannot comment in this thread."))
    parent_id = comment.parent_id or comment.id
    if is_htmx():
        return render_template("discussions/_comment_form.html", discussion=discussion, parent_id=parent_id,
                               form={}, errors={}, allowed=attachments.allowed_extensions(), oob=False)
    return see_other(f"/d/{discussion.id}?reply={parent_id}#reply-slot-{parent_id}")


@bp.get("/c/<int:comment_id>/edit")
@login_required
def edit_comment_form(comment_id: int):
    comment = comment_or_404(comment_id)
    if not policy.can_edit_comment(current_user, comment):
        abort(403, description=_("You cannot edit this comment."))
    template = "discussions/_comment_edit.html" if is_htmx() else "discussions/edit_comment.html"
    return render_template(template, c=comment, discussion=comment.discussion, form={"body": comment.body}, errors={})


@bp.post("/c/<int:comment_id>/edit")
@login_required
def edit_comment(comment_id: int):
    comment = comment_or_404(comment_id)
    body = request.form.get("body", "")
    try:
        discussions.edit_comment(actor_id=current_user.id, comment_id=comment.id, body=body)
    except DomainError as error:
        if not error.field:
            refuse(error)
        template = "discussions/_comment_edit.html" if is_htmx() else "discussions/edit_comment.html"
        return render_template(template, c=comment, discussion=comment.discussion, form={"body": body},
                               errors={error.field: error.message}), 422
    if is_htmx():
        return render_template("discussions/_comment_item.html", c=comment, **_item_context(comment))
    return see_other(f"/d/{comment.discussion_id}#c{comment.id}")


@bp.post("/c/<int:comment_id>/delete")
@login_required
def delete_comment(comment_id: int):
    comment = comment_or_404(comment_id)
    try:
        discussions.delete_comment(actor_id=current_user.id, comment_id=comment.id)
    except DomainError as error:
        refuse(error)
    flash(_("Comment deleted."))
    return see_other(f"/d/{comment.discussion_id}#c{comment.id}")


@bp.get("/c/<int:comment_id>/history")
def comment_history(comment_id: int):
    comment = comment_or_404(comment_id)
    try:
        context = discussions.history(discussion_id=comment.discussion_id, user=signed_in_user(), comment_id=comment.id)
    except NotFound:
        abort(404)
    return render_template("discussions/history.html", **context)


@bp.get("/d/<int:discussion_id>/history")
def history(discussion_id: int):
    try:
        context = discussions.history(discussion_id=discussion_id, user=signed_in_user())
    except NotFound:
        abort(404)
    return render_template("discussions/history.html", **context)


@bp.post("/d/<int:discussion_id>/react")
@login_required
@limiter.limit("300 per hour", key_func=member_key)
def react(discussion_id: int):
    comment_id = request.form.get("comment_id", type=int)
    try:
        discussions.toggle_reaction(actor_id=current_user.id, discussion_id=discussion_id,
                                    emoji=request.form.get("emoji", ""), comment_id=comment_id)
    except DomainError as error:
        if error.field and not is_htmx():
            flash(error.message, "error")
            return see_other(f"/d/{discussion_id}")
        refuse(error)
    if is_htmx():
        discussion = discussion_or_404(discussion_id)
        reactions = discussions.reaction_summary(discussion_id, current_user, comment_id, only_item=True)
        return render_template("discussions/_reactions.html", discussion=discussion, item_id=comment_id,
                               counts=reactions.get(comment_id, {}), reaction_choices=REACTIONS)
    return see_other(f"/d/{discussion_id}" + (f"#c{comment_id}" if comment_id else ""))


# --- The thread itself: edit, close, pin, move, delete -------------------------------------

@bp.get("/d/<int:discussion_id>/edit")
@login_required
def edit_form(discussion_id: int):
    discussion = discussion_or_404(discussion_id)
    if not policy.can_edit_discussion(current_user, discussion):
        abort(403, description=_("Only the thread's author and the group's admins can edit it."))
    return render_template("discussions/edit.html", discussion=discussion, errors={},
                           form={"title": discussion.title, "body": discussion.body})


@bp.post("/d/<int:discussion_id>/edit")
@login_required
def edit(discussion_id: int):
    discussion = discussion_or_404(discussion_id)
    form = {"title": request.form.get("title", ""), "body": request.form.get("body", "")}
    try:
        discussions.edit_discussion(actor_id=current_user.id, discussion_id=discussion.id, **form)
    except DomainError as error:
        if not error.field:
            refuse(error)
        return render_template("discussions/edit.html", discussion=discussion, form=form,
                               errors={error.field: error.message}), 422
    flash(_("Thread saved. Earlier versions stay in its history."))
    return see_other(f"/d/{discussion.id}")


@bp.post("/d/<int:discussion_id>/<any(close, reopen, pin, unpin):action>")
@login_required
def moderate(discussion_id: int, action: str):
    try:
        if action in ("close", "reopen"):
            discussions.set_closed(actor_id=current_user.id, discussion_id=discussion_id, closed=action == "close")
        else:
            discussions.set_pinned(actor_id=current_user.id, discussion_id=discussion_id, pinned=action == "pin")
    except DomainError as error:
        refuse(error)
    flash({"close": _("Thread closed: it takes no new comments."), "reopen": _("Thread reopened."),
           "pin": _("Thread pinned to the top of the group."), "unpin": _("Thread unpinned.")}[action])
    return see_other(f"/d/{discussion_id}")


@bp.post("/d/<int:discussion_id>/move")
@login_required
def move(discussion_id: int):
    try:
        discussion = discussions.move_discussion(actor_id=current_user.id, discussion_id=discussion_id,
                                                 to_group_id=request.form.get("group_id", type=int) or 0,
                                                 confirm_wider=request.form.get("confirm_wider") == "1")
    except DomainError as error:
        if not error.field:
            refuse(error)
        flash(error.message, "error")
        return see_other(f"/d/{discussion_id}")
    flash(_("Thread moved to %(group)s.", group=discussion.group.name))
    return see_other(f"/d/{discussion_id}")


@bp.post("/d/<int:discussion_id>/delete")
@login_required
def delete(discussion_id: int):
    discussion = discussion_or_404(discussion_id)
    handle = discussion.group.handle
    try:
        discussions.delete_discussion(actor_id=current_user.id, discussion_id=discussion_id)
    except DomainError as error:
        refuse(error)
    flash(_("Thread deleted."))
    return see_other(f"/g/{handle}")


@bp.post("/mark-all-read")
@login_required
def mark_all_read():
    count = discussions.mark_all_read(user_id=current_user.id)
    flash(_n("Marked %(num)s thread read.", "Marked %(num)s threads read.", count))
    return see_other("/")


# --- Attachments ------------------------------------------------------------------------

@bp.get("/attachments/<int:attachment_id>/<path:filename>")
def attachment(attachment_id: int, filename: str):
    row, chunks = attachment_or_404(attachment_id, filename)
    inline = row.content_type in attachments.INLINE_TYPES
    # Streamed from the file store a checked chunk at a time (app/storage.py), never held whole.
    response = Response(chunks, mimetype=row.content_type, direct_passthrough=True)
    response.content_length = row.size
    response.headers.set("Content-Disposition", "inline" if inline else "attachment",
                         **download_name(attachments.safe_filename(row.filename)))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    # Even if a file were mistaken for a page, it could run nothing and load nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response
