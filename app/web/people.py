"""People in a discussion, in the browser: a thread's guests, who is told, @mention suggestions,
membership titles. Plain forms answered with 303; the suggestion list is a small htmx fragment."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user, login_required

from .. import policy
from ..extensions import limiter
from ..services import guests, memberships, mentions
from ..services.errors import DomainError, NotAllowed, NotFound
from .helpers import member_key, page_or_fragment, refuse, see_other
from .loaders import discussion_or_404, group_or_404, thread_page_or_404
from ..i18n import _

bp = Blueprint("people", __name__)


def notify_from_form(form) -> str:
    """The names to tell from a start form: the ticked groups (the whole group, subgroups) and the typed names."""
    ticked = ["@" + handle for handle in form.getlist("notify_groups") if handle]
    return ", ".join([*ticked, *(part for part in [(form.get("notify") or "").strip()] if part)])


def notify_choices(group, user) -> list:
    """The groups a start form offers to tell at once: the group itself, then its subgroups."""
    return [g for g in mentions.nameable_groups(group, user) if g.id == group.id or g.parent_id == group.id]


def say_left_out(item) -> None:
    left_out = getattr(item, "notify_left_out", None)
    if left_out:
        flash(_("Not told: %(names)s. Only people who may read it (the group's members, the thread's "
                "guests) can be told; invite someone from outside as a guest of the thread.",
                names=", ".join(left_out)), "warning")


# --- Guests of one thread ----------------------------------------------------------------

@bp.post("/d/<int:discussion_id>/guests")
@login_required
@limiter.limit("30 per hour", key_func=member_key)
def invite(discussion_id: int):
    discussion = discussion_or_404(discussion_id)
    try:
        result = guests.invite_guests(actor_id=current_user.id, discussion_id=discussion.id,
                                      emails=request.form.get("emails", ""), message=request.form.get("message", ""))
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        from ..services import attachments

        context = thread_page_or_404(discussion_id) | {"allowed": attachments.allowed_extensions()}
        return render_template("discussions/show.html", form={}, errors={}, reply_to=None,
                               guest_form={"emails": request.form.get("emails", "")[:5000],
                                           "message": request.form.get("message", "")[:2000]},
                               guest_errors={error.field or "emails": error.message}, **context), 422
    said = []
    if result["invited"]:
        said.append(_("Invited as guests: %(emails)s.", emails=", ".join(result["invited"])))
    if result["members"]:
        said.append(_("Already members (they can read it): %(emails)s.", emails=", ".join(result["members"])))
    if result["already"]:
        said.append(_("Already guests: %(emails)s.", emails=", ".join(result["already"])))
    flash(" ".join(said), "success")
    return see_other(f"/d/{discussion_id}#guests")


@bp.post("/d/<int:discussion_id>/guests/<int:user_id>/remove")
@login_required
def remove(discussion_id: int, user_id: int):
    discussion = discussion_or_404(discussion_id)
    try:
        guests.remove_guest(actor_id=current_user.id, discussion_id=discussion.id, user_id=user_id)
    except DomainError as error:
        refuse(error)
    flash(_("The guest was removed: they can no longer read or reply to this thread."), "success")
    return see_other(f"/d/{discussion_id}#guests")


# --- @mention suggestions (htmx) -------------------------------------------------------------

def _prefix() -> str:
    """What is being typed: `q`, or the @word at the end of the text htmx sends (body/details)."""
    if "q" in request.args:
        return request.args.get("q", "")[:64]
    if "notify" in request.args:  # a Notify list: the name being typed after the last comma
        last = re.split(r"[\s,;]+", request.args.get("notify", "")[-200:])[-1]
        return last.lstrip("@")[:64] if last and "@" not in last.lstrip("@") else "\x00"
    text = (request.args.get("body") or request.args.get("details") or "")[-200:]
    word = text.rsplit(None, 1)[-1] if text.strip() and not text[-1].isspace() else ""
    return word[1:] if word.startswith("@") else "\x00"  # not typing a mention: suggest nothing


def _suggestions(group, discussion):
    prefix = _prefix()
    found = [] if prefix == "\x00" else mentions.suggestions(group, discussion, prefix, actor=current_user)
    # One URL: the small fragment for htmx, a plain page otherwise.
    return page_or_fragment("people/mentions.html", "people/_mention_suggestions.html", found=found, prefix=prefix)


@bp.get("/d/<int:discussion_id>/mentions")
@login_required
def thread_mentions(discussion_id: int):
    discussion = discussion_or_404(discussion_id)
    if not policy.can_mention_in(current_user, discussion):
        abort(404)
    return _suggestions(discussion.group, discussion)


@bp.get("/g/<handle>/mentions")
@login_required
def group_mentions(handle: str):
    group = group_or_404(handle)
    if not policy.can_choose_who_is_told(current_user, group):
        abort(404)
    return _suggestions(group, None)


# --- Membership titles ---------------------------------------------------------------------------

@bp.post("/g/<handle>/members/<int:user_id>/title")
@login_required
def set_title(handle: str, user_id: int):
    group = group_or_404(handle)
    try:
        memberships.set_title(actor_id=current_user.id, group_id=group.id, user_id=user_id,
                              title=request.form.get("title", ""))
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        from .groups import _members_page

        return _members_page(group, {"members": error.message}, 422)
    flash(_("Title saved."), "success")
    return see_other(f"/g/{group.handle}/members")


