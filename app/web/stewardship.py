"""Data stewardship pages: group export (with progress) and its 7-day download, import, personal
data download, account deletion, two-factor sign-in, support grants with the access and audit
logs, and the operator's list of groups (names and sizes, never content)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import (Blueprint, Response, flash, make_response, render_template, request, session,
                   stream_with_context)
from flask_login import current_user, login_required

from .. import policy, storage
from ..auth_session import sign_out, sign_in
from ..extensions import limiter
from ..models import Group
from ..services import accounts
from ..services.errors import DomainError, NotFound, RateLimited
from ..services import audit
from ..stewardship import grants, totp
from ..stewardship import export as exports
from ..stewardship import mbox
from .helpers import client_ip, page_or_fragment, refuse, require, see_other
from .loaders import admin_group_or_404, export_or_404, group_or_404
from ..i18n import _, _n

bp = Blueprint("stewardship", __name__)


def _group(handle: str) -> Group:
    return group_or_404(handle)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Group export --------------------------------------------------------------------

@bp.get("/g/<handle>/export")
@login_required
def export_page(handle: str):
    group = admin_group_or_404(handle)
    return render_template("stewardship/export.html", group=group, exports=exports.recent_exports(group.id), now=datetime.now(timezone.utc))


@bp.post("/g/<handle>/export")
@login_required
def export_start(handle: str):
    group = admin_group_or_404(handle)
    try:
        row = exports.request_export(actor=current_user, group_id=group.id)
    except DomainError as error:
        flash(error.message, "error")
        return see_other(f"/g/{group.handle}/export")
    return see_other(f"/g/{group.handle}/export/{row.id}")


@bp.get("/g/<handle>/export/<int:export_id>")
@login_required
def export_status(handle: str, export_id: int):
    group = admin_group_or_404(handle)
    row = export_or_404(group, export_id)
    return page_or_fragment("stewardship/export_status.html", "stewardship/_export_progress.html",
                            group=group, export=row)


@bp.get("/exports/<token>")
@login_required
def export_download(token: str):
    row = exports.export_by_token(token)
    require(row is not None)
    group = exports.group_of(row)
    require(group is not None and policy.can_export(current_user, group))
    if row.expires_at is None or row.expires_at <= datetime.now(timezone.utc) or not row.storage_key:
        return render_template("errors/error.html", code=410, title=_("This download has expired"),
                               message=_("Export links last 7 days. Start a new export from the group's export page.")), 410
    try:
        chunks = storage.chunks("exports", row.storage_key)
    except FileNotFoundError:
        return render_template("errors/error.html", code=410, title=_("This download has expired"),
                               message=_("The export's file is gone. Start a new export from the group's export page.")), 410
    name = f"{group.handle}-export-{row.finished_at:%Y-%m-%d}.zip"
    # Streamed from the store a checked chunk at a time (an export can be large).
    response = Response(chunks, mimetype="application/zip", direct_passthrough=True)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return _no_store(response)


@bp.post("/g/<handle>/threads.mbox")
@login_required
def mbox_download(handle: str):
    """The group's threads as an mbox file, streamed (a POST: the download goes in the audit log)."""
    group = admin_group_or_404(handle)
    try:
        mbox.download(actor=current_user, group=group)
    except DomainError as error:
        refuse(error)
    response = Response(stream_with_context(mbox.chunks(group)), mimetype="application/mbox")
    response.headers["Content-Disposition"] = f'attachment; filename="{mbox.filename(group)}"'
    return _no_store(response)


# --- Import (site operators) -------------------------------------------------------------

@bp.get("/admin/import")
@login_required
def import_page():
    require(policy.is_operator(current_user))
    return render_template("stewardship/import.html", errors={}, handle="")


@bp.post("/admin/import")
@login_required
def import_upload():
    require(policy.is_operator(current_user))
    from ..stewardship.importer import import_zip

    upload = request.files.get("file")
    handle = (request.form.get("handle") or "").strip() or None
    if upload is None or not upload.filename:
        return render_template("stewardship/import.html", errors={"file": _("Choose an export .zip file.")},
                               handle=handle or ""), 422
    try:
        group = import_zip(upload.read(), actor_id=current_user.id, handle=handle)
    except DomainError as error:
        return render_template("stewardship/import.html", errors={error.field or "file": error.message},
                               handle=handle or ""), 422
    flash(_("Imported %(group)s as %(handle)s.", group=group.name, handle=group.handle))
    return see_other(f"/g/{group.handle}")


# --- Personal data and account deletion -------------------------------------------------------

@bp.get("/account/data")
@login_required
def data_page():
    from ..stewardship.personal import removable_groups

    return render_template("stewardship/account_data.html", errors={},
                           removable=removable_groups(current_user.id))


@bp.get("/account/data/export.json")
@login_required
def personal_export():
    from ..stewardship.personal import personal_export as build

    body = json.dumps(build(current_user.id), ensure_ascii=False, indent=1)
    response = make_response(body)
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="quorum-personal-data-{current_user.id}.json"'
    return _no_store(response)


@bp.post("/account/delete")
@login_required
def delete_account():
    from ..stewardship.personal import delete_account as erase, removable_groups

    try:
        erase(user_id=current_user.id, confirm=request.form.get("confirm", ""),
              remove_content=request.form.get("remove_content") == "1")
    except DomainError as error:
        return render_template("stewardship/account_data.html", errors={error.field or "confirm": error.message},
                               removable=removable_groups(current_user.id)), 422
    sign_out()
    flash(_("Your account is deleted. A confirmation was sent to your address before we erased it."))
    return see_other("/")


# --- Two-factor sign-in --------------------------------------------------------------------
# Nothing secret travels in the cookie: the secret being set up is sealed on the account, the
# waiting sign-in is a server-side row, and recovery codes are shown in the answer to the POST
# that made them (never stored in the clear, never in a cookie; no-store keeps them out of caches).

def _totp_page(errors=None, status=200):
    secret = totp.setup_secret(current_user)
    uri = totp.provisioning_uri(current_user, secret) if secret else None
    response = make_response(render_template(
        "stewardship/totp.html", errors=errors or {}, secret=secret, uri=uri, qr=totp.qr_svg(uri) if uri else None,
        remaining=totp.remaining_codes(current_user.id), required_by=totp.groups_requiring(current_user.id)), status)
    return _no_store(response)


def _codes_page(codes: list[str]):
    return _no_store(make_response(render_template("stewardship/totp_codes.html", codes=codes)))


@bp.get("/account/2fa")
@login_required
def totp_page():
    return _totp_page()


@bp.post("/account/2fa/setup")
@login_required
def totp_setup():
    try:
        totp.begin_setup(user_id=current_user.id)
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/account/2fa")


@bp.post("/account/2fa")
@login_required
@limiter.limit("10 per 15 minutes", key_func=client_ip)
def totp_enable():
    try:
        codes = totp.enable(user_id=current_user.id, code=request.form.get("code", ""))
    except DomainError as error:
        return _totp_page({"code": error.message}, 422)
    return _codes_page(codes)


@bp.post("/account/2fa/codes")
@login_required
@limiter.limit("10 per 15 minutes", key_func=client_ip)
def totp_regenerate():
    try:
        codes = totp.regenerate_codes(user_id=current_user.id, code=request.form.get("code", ""))
    except DomainError as error:
        return _totp_page({"regen_code": error.message}, 422)
    return _codes_page(codes)


@bp.post("/account/2fa/disable")
@login_required
@limiter.limit("10 per 15 minutes", key_func=client_ip)
def totp_disable():
    try:
        totp.disable(user_id=current_user.id, code=request.form.get("code", ""))
    except DomainError as error:
        return _totp_page({"disable_code": error.message}, 422)
    flash(_("Two-factor sign-in is off."))
    return see_other("/account/2fa")


def second_factor_page(errors=None, status=200):
    """The second-factor step: the authenticator app's code where that is on, a passkey where the
    member has one (app/services/passkeys.py)."""
    from ..services import passkeys

    challenge = totp.pending_second_factor(session.get("second_factor"))
    if challenge is None:
        return see_other("/login")
    user = _pending_member(challenge.user_id)
    return render_template("stewardship/login_2fa.html", errors=errors or {},
                           has_totp=user is not None and user.totp_enabled_at is not None,
                           has_passkeys=passkeys.count(challenge.user_id) > 0), status


def _pending_member(user_id: int):
    from ..services.accounts import acting_member
    from ..services.errors import NotAllowed

    try:
        return acting_member(user_id)
    except NotAllowed:
        return None


@bp.get("/login/2fa")
def login_2fa():
    return second_factor_page()


@bp.post("/login/2fa")
@limiter.limit("10 per 15 minutes", key_func=client_ip)
def login_2fa_submit():
    try:
        user, next_path = totp.answer_second_factor(key=session.get("second_factor"),
                                                        code=request.form.get("code", ""))
    except (NotFound, RateLimited) as error:
        session.pop("second_factor", None)
        flash(error.message, "error")
        return see_other("/login")
    except DomainError as error:
        return second_factor_page({"code": error.message}, 422)
    sign_in(user)
    return see_other(accounts.safe_next(next_path) or "/")


# --- Support access, access log, audit log ------------------------------------------------------------

def _support_page(group: Group, errors=None, status=200, form=None):
    operators = [(str(op.id), f"{op.display_name} <{op.email}>") for op in grants.operators()]
    return render_template("stewardship/support.html", group=group, grants=grants.grants_for(group.id),
                           log=grants.access_log(group.id), audit_log=audit.for_group(group.id),
                           operators=operators, errors=errors or {},
                           form=form or {"reason": "", "days": "7", "operator_id": ""},
                           now=datetime.now(timezone.utc)), status


@bp.get("/g/<handle>/support")
@login_required
def support_page(handle: str):
    return _support_page(admin_group_or_404(handle))


@bp.post("/g/<handle>/support")
@login_required
def support_grant(handle: str):
    group = admin_group_or_404(handle)
    form = {key: request.form.get(key, "") for key in ("reason", "days", "operator_id")}
    try:
        days = int(form["days"])
    except ValueError:
        return _support_page(group, {"days": _("Choose how many days (1–30).")}, 422, form)
    try:
        grants.grant(actor=current_user, group_id=group.id, reason=form["reason"], days=days,
                     operator_id=int(form["operator_id"]) if form["operator_id"].isdigit() else None)
    except DomainError as error:
        return _support_page(group, {error.field or "reason": error.message}, 422, form)
    flash(_n("Support access granted for %(num)s day.", "Support access granted for %(num)s days.", days))
    return see_other(f"/g/{group.handle}/support")


@bp.post("/g/<handle>/support/<int:grant_id>/revoke")
@login_required
def support_revoke(handle: str, grant_id: int):
    group = admin_group_or_404(handle)
    try:
        grants.revoke(actor=current_user, group_id=group.id, grant_id=grant_id)
    except DomainError as error:
        refuse(error)
    flash(_("Support access revoked."))
    return see_other(f"/g/{group.handle}/support")


@bp.post("/g/<handle>/require-2fa")
@login_required
def require_2fa(handle: str):
    group = admin_group_or_404(handle)
    try:
        totp.set_admins_require_2fa(actor=current_user, group_id=group.id,
                                    required=request.form.get("required") == "1")
    except DomainError as error:
        flash(error.message, "error")
        return see_other(f"/g/{group.handle}/support")
    flash(_("Admins of this group now need two-factor sign-in.") if group.admins_require_2fa
          else _("Two-factor sign-in is no longer required for admins."))
    return see_other(f"/g/{group.handle}/support")


# --- Site operators ------------------------------------------------------------------------------

@bp.get("/operator/groups")
@login_required
def operator_groups():
    require(policy.is_operator(current_user))
    return render_template("stewardship/operator_groups.html", rows=grants.operator_overview(current_user))
