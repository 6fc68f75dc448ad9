"""Groups in the browser: create, the group page, settings, members, invitations, join links."""
from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request
from flask_login import current_user, login_required

from .. import i18n, policy
from ..i18n import _, _l
from ..extensions import limiter
from ..models import Group
from ..services import discussions, groups, invitations, memberships
from ..services import polls as polls_service
from ..services.errors import DomainError, NotAllowed, NotFound
from .helpers import client_ip, member_key, refuse, see_other, sign_in_first, signed_in_user
from .loaders import group_or_404

bp = Blueprint("groups", __name__)
PRIVACY_CHOICES = [
    ("closed", _l("Closed: anyone can find the group; only members see its threads")),
    ("open", _l("Open: anyone can read the threads and join")),
    ("secret", _l("Secret: invisible to everyone but its members")),
]


def _group(handle: str) -> Group:
    return group_or_404(handle)


# --- Create ---------------------------------------------------------------------

def _parent_from(value: str | None) -> Group | None:
    if not value:
        return None
    parent = _group(value)
    if not policy.can_create_subgroup(current_user, parent):
        abort(403, description=_("Only the group's admins can add subgroups, and subgroups cannot have their own."))
    return parent


@bp.get("/groups")
def directory():
    """The directory of open groups: anyone may find one here and join it (admins can opt out)."""
    return render_template("groups/directory.html", listed=groups.directory(current_user))


@bp.get("/groups/new")
@login_required
def new():
    parent = _parent_from(request.args.get("parent"))
    if parent is None and not policy.can_create_group(current_user):
        abort(403, description=groups.GROUP_CREATION_REFUSED)
    form = {"privacy": parent.privacy if parent else "closed"}
    return render_template("groups/new.html", form=form, errors={}, parent=parent, privacy_choices=PRIVACY_CHOICES)


@bp.post("/groups/new")
@login_required
def create():
    parent = _parent_from(request.form.get("parent"))
    if parent is None and not policy.can_create_group(current_user):
        abort(403, description=groups.GROUP_CREATION_REFUSED)
    form = {key: request.form.get(key, "") for key in ("name", "handle", "description", "privacy")}
    try:
        group = groups.create_group(actor_id=current_user.id, parent_id=parent.id if parent else None, **form)
    except DomainError as error:
        return render_template("groups/new.html", form=form, errors={error.field or "name": error.message},
                               parent=parent, privacy_choices=PRIVACY_CHOICES), 422
    flash(_("%(group)s is ready. Invite people from the members page.", group=group.name))
    return see_other(f"/g/{group.handle}")


# --- The group page --------------------------------------------------------------

@bp.get("/g/<handle>")
def show(handle: str):
    group = _group(handle)
    user = signed_in_user()
    can_read = policy.can_view_content(user, group)
    threads = discussions.group_threads(group, user) if can_read else []
    decisions = polls_service.polls_for_group(group.id, signed_in_user()) if can_read else []
    subgroups = [sub for sub in group.subgroups if policy.can_see_group(user, sub)]
    pending_request = None
    if user is not None and policy.can_request_to_join(user, group):
        pending_request = memberships.pending_request_id(user, group)
    parent = group.parent if group.parent is not None and policy.can_see_group(user, group.parent) else None
    return render_template("groups/show.html", group=group, threads=threads, subgroups=subgroups, parent=parent,
                           member_count=groups.member_count(group.id), pending_request=pending_request, errors={},
                           polls=decisions)


@bp.post("/g/<handle>/join")
@login_required
def join(handle: str):
    group = _group(handle)
    try:
        memberships.join_open_group(actor_id=current_user.id, group_id=group.id)
    except DomainError as error:
        refuse(error)
    flash(_("Welcome to %(group)s.", group=group.name))
    return see_other(f"/g/{group.handle}")


@bp.post("/g/<handle>/request")
@login_required
@limiter.limit("10 per hour", key_func=client_ip)
def request_join(handle: str):
    group = _group(handle)
    try:
        memberships.request_to_join(actor_id=current_user.id, group_id=group.id, message=request.form.get("message", ""))
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        flash(error.message, "error")
        return see_other(f"/g/{group.handle}")
    flash(_("Your request is sent. The group's admins will answer by email."))
    return see_other(f"/g/{group.handle}")


@bp.post("/g/<handle>/leave")
@login_required
def leave(handle: str):
    group = _group(handle)
    try:
        memberships.leave_group(actor_id=current_user.id, group_id=group.id)
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        flash(error.message, "error")
        return see_other(f"/g/{group.handle}/members")
    flash(_("You have left %(group)s.", group=group.name))
    return see_other("/")


@bp.post("/g/<handle>/mark-read")
@login_required
def mark_read(handle: str):
    group = _group(handle)
    try:
        discussions.mark_all_read(user_id=current_user.id, group_id=group.id)
    except DomainError as error:
        refuse(error)
    flash(_("All threads in this group are marked read."))
    return see_other(f"/g/{group.handle}")


# --- Settings -----------------------------------------------------------------------

def _settings_page(group: Group, form: dict, errors: dict, status: int = 200):
    return render_template("groups/settings.html", group=group, form=form, errors=errors,
                           flags=groups.PERMISSION_FLAGS, privacy_choices=PRIVACY_CHOICES,
                           language_choices=[("", _("None: each member's browser decides")), *i18n.LOCALES.items()]), status


@bp.get("/g/<handle>/settings")
@login_required
def settings(handle: str):
    group = _group(handle)
    if not policy.can_change_settings(current_user, group):
        abort(403, description=_("Only this group's admins can change its settings."))
    form = {"name": group.name, "description": group.description, "privacy": group.privacy, "locale": group.locale or "",
            **{flag: getattr(group, flag) for flag in groups.PERMISSION_FLAGS}}
    return _settings_page(group, form, {})


@bp.post("/g/<handle>/settings")
@login_required
def settings_update(handle: str):
    group = _group(handle)
    form = {key: request.form.get(key, "") for key in ("name", "description", "privacy", "locale")}
    flags = {flag: request.form.get(flag) == "on" for flag in groups.PERMISSION_FLAGS}
    try:
        groups.update_settings(actor_id=current_user.id, group_id=group.id, flags=flags, **form)
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        return _settings_page(group, {**form, **flags}, {error.field or "name": error.message}, 422)
    flash(_("Settings saved."))
    return see_other(f"/g/{group.handle}/settings")


# --- Members, invitations, requests, the join link -----------------------------------

def _members_page(group: Group, errors: dict | None = None, status: int = 200, form: dict | None = None):
    user = current_user
    admin = policy.can_manage_members(user, group)
    return render_template(
        "groups/members.html", group=group, members=memberships.members_of(group.id), errors=errors or {},
        form=form or {}, can_manage=admin, can_invite=policy.can_invite(user, group),
        invitations=invitations.pending_for(group.id) if policy.can_invite(user, group) else [],
        requests=memberships.pending_requests(group.id) if admin else [],
        suspended=memberships.suspended_members(group.id) if admin else []), status


@bp.get("/g/<handle>/members")
def members(handle: str):
    group = _group(handle)
    if not policy.can_see_members(signed_in_user(), group):
        if not current_user.is_authenticated:
            return sign_in_first(f"/g/{group.handle}/members")
        abort(403, description=_("Only members can see who belongs to this group."))
    return _members_page(group)


@bp.post("/g/<handle>/members/<int:user_id>/role")
@login_required
def change_role(handle: str, user_id: int):
    group = _group(handle)
    try:
        memberships.change_role(actor_id=current_user.id, group_id=group.id, user_id=user_id,
                                role=request.form.get("role", ""))
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        return _members_page(group, {"members": error.message}, 422)
    flash(_("Role changed."))
    return see_other(f"/g/{group.handle}/members")


@bp.post("/g/<handle>/members/<int:user_id>/remove")
@login_required
def remove(handle: str, user_id: int):
    group = _group(handle)
    try:
        memberships.remove_member(actor_id=current_user.id, group_id=group.id, user_id=user_id)
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        return _members_page(group, {"members": error.message}, 422)
    flash(_("Removed from the group."))
    return see_other(f"/g/{group.handle}/members")


@bp.post("/g/<handle>/invitations")
@login_required
@limiter.limit("30 per hour", key_func=member_key)
def invite(handle: str):
    group = _group(handle)
    form = {"emails": request.form.get("emails", ""), "message": request.form.get("message", "")}
    try:
        result = invitations.invite(actor_id=current_user.id, group_id=group.id, **form)
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        return _members_page(group, {error.field or "emails": error.message}, 422, form)
    if result["invited"]:
        flash(_("Invitation sent to %(emails)s.", emails=", ".join(result["invited"])))
    if result["members"]:
        flash(_("Already members: %(emails)s.", emails=", ".join(result["members"])))
    if result["pending"]:
        flash(_("Already invited (use Resend below): %(emails)s.", emails=", ".join(result["pending"])))
    return see_other(f"/g/{group.handle}/members")


@bp.post("/g/<handle>/invitations/<int:invitation_id>/<any(resend, revoke):action>")
@login_required
def invitation_action(handle: str, invitation_id: int, action: str):
    group = _group(handle)
    try:
        invitation = getattr(invitations, action)(actor_id=current_user.id, invitation_id=invitation_id)
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        return _members_page(group, {"invitations": error.message}, 422)
    if invitation.group_id != group.id:
        abort(404)
    if action == "resend":
        flash(_("Invitation to %(email)s sent again.", email=invitation.email))
    else:
        flash(_("Invitation to %(email)s withdrawn.", email=invitation.email))
    return see_other(f"/g/{group.handle}/members")


@bp.post("/g/<handle>/join-link")
@login_required
def join_link(handle: str):
    group = _group(handle)
    try:
        memberships.reset_join_link(actor_id=current_user.id, group_id=group.id,
                                    enabled=request.form.get("enabled", "1") == "1")
    except DomainError as error:
        refuse(error)
    flash(_("A new join link is ready; the old one no longer works.") if group.join_token
          else _("The join link is off."))
    return see_other(f"/g/{group.handle}/members#join-link")


@bp.post("/g/<handle>/requests/<int:request_id>")
@login_required
def decide(handle: str, request_id: int):
    group = _group(handle)
    approve = request.form.get("decision") == "approve"
    try:
        join_request = memberships.decide_request(actor_id=current_user.id, request_id=request_id, approve=approve)
    except (NotFound, NotAllowed) as error:
        refuse(error)
    except DomainError as error:
        return _members_page(group, {"requests": error.message}, 422)
    if approve:
        flash(_("%(name)s is now a member.", name=join_request.user.display_name))
    else:
        flash(_("%(name)s was not added.", name=join_request.user.display_name))
    return see_other(f"/g/{group.handle}/members")


# --- Following an emailed invitation or a shared join link ---------------------------

def _invitation_page(token: str, errors: dict | None = None, status: int = 200, name: str = ""):
    try:
        invitation = invitations.by_token(token)
    except DomainError as error:
        return render_template("groups/invitation.html", invitation=None, problem=error.message, errors={}), 410
    from ..services.accounts import user_by_email

    return render_template("groups/invitation.html", invitation=invitation, token=token, errors=errors or {},
                           problem=None, needs_name=user_by_email(invitation.email) is None
                           and not current_user.is_authenticated, name=name), status


@bp.get("/invitations/<token>")
def invitation(token: str):
    """Mail scanners open links; only the button (a POST) accepts."""
    return _invitation_page(token)


@bp.post("/invitations/<token>")
@limiter.limit("30 per hour", key_func=client_ip)
def invitation_accept(token: str):
    name = request.form.get("name", "")
    if not current_user.is_authenticated and invitations.invitee_has_account(token):
        # An existing account signs in its own way (link, code, password, second factor) and comes
        # back here: an invitation link, perhaps forwarded, never opens someone's account.
        return sign_in_first(f"/invitations/{token}")
    try:
        user, group = invitations.accept(token=token, name=name,
                                         user_id=current_user.id if current_user.is_authenticated else None)
    except DomainError as error:
        if error.field:
            return _invitation_page(token, {error.field: error.message}, 422, name)
        return _invitation_page(token)
    flash(_("Welcome to %(group)s.", group=group.name))
    if not current_user.is_authenticated:
        # A new account, made just now for the address the token proved: sign it in as a link would.
        from ..services.accounts import signed_in_by_invitation
        from .auth import _finish

        signed_in_by_invitation(user, ip=client_ip(), user_agent=request.user_agent.string)
        return _finish(user, f"/g/{group.handle}")
    return see_other(f"/g/{group.handle}")


@bp.get("/join/<token>")
def join_link_page(token: str):
    try:
        group = memberships.group_by_join_token(token)
    except DomainError as error:
        return render_template("groups/join.html", group=None, problem=error.message, token=token), 410
    member = current_user.is_authenticated and policy.is_member(current_user, group)
    return render_template("groups/join.html", group=group, problem=None, token=token, member=member)


@bp.post("/join/<token>")
def join_link_accept(token: str):
    if not current_user.is_authenticated:
        return sign_in_first(f"/join/{token}")
    try:
        group = memberships.join_by_link(actor_id=current_user.id, token=token)
    except DomainError as error:
        return render_template("groups/join.html", group=None, problem=error.message, token=token), 410
    flash(_("Welcome to %(group)s.", group=group.name))
    return see_other(f"/g/{group.handle}")
