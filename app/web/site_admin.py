"""Site admin pages: the instance's people and groups, its branding; archiving a group (its admins
too), leaving an archive; the links that prove an address for an account merge; the logo.

Only metadata is shown (names, addresses, counts, dates), never a group's content. Every page is
plain HTML forms (POST, then a redirect); every action is in the audit log (app/services/site_admin.py).
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, render_template, request
from flask_login import current_user, login_required

from .. import policy
from ..services import branding, site_admin
from ..services.errors import DomainError, Invalid, NotFound
from ..stewardship.erasure import erase_for
from .helpers import refuse, see_other
from .loaders import group_or_404
from ..i18n import _

bp = Blueprint("site_admin", __name__)


@bp.app_context_processor
def site_branding():
    """`branding` for every page and mail (one query a request)."""
    return {"branding": branding.current()}


def _site_admin():
    if not policy.can_manage_people(current_user):
        abort(404)  # the page does not exist for members
    return current_user


def _id(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- People ------------------------------------------------------------------------------------

@bp.get("/admin/people")
@login_required
def people():
    actor = _site_admin()
    q = request.args.get("q", "")[:100]
    return render_template("admin/people.html", rows=site_admin.people(actor, q), q=q, errors={})


@bp.post("/admin/people/<int:user_id>/<any(deactivate, reactivate):action>")
@login_required
def person_action(user_id: int, action: str):
    actor = _site_admin()
    try:
        user = getattr(site_admin, action)(actor, user_id=user_id)
        if action == "deactivate":
            flash(_("%(name)s (%(email)s) is deactivated: they can no longer sign in or take part by email.",
                    name=user.display_name, email=user.email))
        else:
            flash(_("%(name)s (%(email)s) is active again.", name=user.display_name, email=user.email))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/admin/people")


@bp.post("/admin/people/<int:user_id>/erase")
@login_required
def person_erase(user_id: int):
    actor = _site_admin()
    try:
        erase_for(actor, user_id=user_id, confirm=request.form.get("confirm", ""))
        flash(_("The person's data is erased; their posts stay, shown as \"deleted member\". "
                "A confirmation went to their address."))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/admin/people")


@bp.get("/admin/people/merge")
@login_required
def merge_page():
    actor = _site_admin()
    return render_template("admin/merge.html", merges=site_admin.merges(actor), form={}, errors={},
                           state=site_admin.merge_state)


@bp.post("/admin/people/merge")
@login_required
def merge_request():
    actor = _site_admin()
    form = {k: request.form.get(k, "")[:254] for k in ("kept_email", "merged_email")}
    try:
        site_admin.request_merge(actor, **form)
    except DomainError as error:
        return render_template("admin/merge.html", merges=site_admin.merges(actor), form=form,
                               errors={error.field or "kept_email": error.message}, state=site_admin.merge_state), 422
    flash(_("Each address was sent a link. The accounts are merged once both links are followed."))
    return see_other("/admin/people/merge")


@bp.post("/admin/people/merge/<int:merge_id>/cancel")
@login_required
def merge_cancel(merge_id: int):
    actor = _site_admin()
    try:
        site_admin.cancel_merge(actor, merge_id=merge_id)
        flash(_("The merge is cancelled; its links no longer work."))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/admin/people/merge")


@bp.get("/merge/<token>")
def merge_confirm_page(token: str):
    found = site_admin.load_merge(token)
    if found is None:
        abort(404)
    row, side = found
    return render_template("admin/merge_confirm.html", row=row, side=side, state=site_admin.merge_state(row),
                           token=token)


@bp.post("/merge/<token>")
def merge_confirm(token: str):
    try:
        row = site_admin.confirm_merge(token)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(error.message, "error")
        return see_other(f"/merge/{token}")
    flash(_("Thank you: the accounts are merged.") if row.done_at else
          _("Thank you: this address is confirmed. The merge happens once the other address is confirmed too."))
    return see_other(f"/merge/{token}")


# --- Groups ------------------------------------------------------------------------------------

@bp.get("/admin/groups")
@login_required
def groups():
    actor = _site_admin()
    q = request.args.get("q", "")[:100]
    return render_template("admin/groups.html", rows=site_admin.groups(actor, q), q=q,
                           grace_days=current_app.config.get("GROUP_DELETION_GRACE_DAYS", 7))


def action_done(action: str, name: str) -> str:
    """What the flash says once a group is archived, restored, scheduled for deletion or kept."""
    if action == "archive":
        return _("%(name)s is archived: read-only and out of every list.", name=name)
    if action == "restore":
        return _("%(name)s is restored.", name=name)
    if action == "delete":
        return _("%(name)s will be deleted when its grace period ends; its admins were told by mail.", name=name)
    return _("%(name)s will not be deleted (it stays archived until restored).", name=name)


@bp.post("/admin/groups/<int:group_id>/<any(archive, restore, delete, 'cancel-deletion'):action>")
@login_required
def group_action(group_id: int, action: str):
    actor = _site_admin()
    service = {"archive": site_admin.archive_group, "restore": site_admin.restore_group,
               "delete": site_admin.schedule_deletion, "cancel-deletion": site_admin.cancel_deletion}[action]
    try:
        group = service(actor, group_id=group_id)
        flash(action_done(action, group.name))
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/admin/groups")


# --- A group's admins archive, restore; members leave an archive --------------------------------------

@bp.post("/g/<handle>/<any(archive, restore):action>")
@login_required
def group_archive(handle: str, action: str):
    group = group_or_404(handle)
    service = site_admin.archive_group if action == "archive" else site_admin.restore_group
    try:
        service(current_user, group_id=group.id)
    except DomainError as error:
        refuse(error)
    flash(action_done(action, group.name))
    return see_other(f"/g/{group.handle}")


@bp.post("/g/<handle>/leave-archive")
@login_required
def leave_archive(handle: str):
    group = group_or_404(handle)
    try:
        site_admin.leave_archive(current_user, group_id=group.id)
    except DomainError as error:
        refuse(error)
    flash(_("You have left the archive of %(group)s; it is no longer yours to see.", group=group.name))
    return see_other("/")


# --- Branding ----------------------------------------------------------------------------------

FIELDS = ("site_name", "accent_colour", "terms_url", "privacy_url")


@bp.get("/admin/branding")
@login_required
def branding_page():
    _site_admin()
    row = branding.stored_settings()
    form = {f: getattr(row, f) if row is not None else "" for f in FIELDS}
    return render_template("admin/branding.html", form=form, errors={}, current=branding.current())


@bp.post("/admin/branding")
@login_required
def branding_update():
    actor = _site_admin()
    form = {f: request.form.get(f, "")[:500] for f in FIELDS}
    upload = request.files.get("logo")
    data = upload.read(branding.LOGO_MAX_BYTES + 1) if upload is not None and upload.filename else None
    try:
        branding.update(actor, **form, logo=data, remove_logo=request.form.get("remove_logo") == "1")
    except Invalid as error:
        return render_template("admin/branding.html", form=form, errors={error.field or "site_name": error.message},
                               current=branding.current()), 422
    flash(_("The site's branding is saved."))
    return see_other("/admin/branding")


@bp.get("/branding/logo-<etag>.png")
def logo(etag: str):
    found = branding.logo()
    if found is None or found[1] != etag:
        abort(404)
    data, tag = found
    if request.if_none_match.contains(tag):
        response = make_response("", 304)
    else:
        response = make_response(data)
        response.mimetype = "image/png"
    response.set_etag(tag)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

