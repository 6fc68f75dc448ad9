"""Operator access by consent: a group admin grants one named site operator time-limited support
access; every page that operator views under the grant is written to the access log the group's
admins can read.

Every read of a group's content asks `policy.can_view_content` (the loaders in app/web/loaders.py,
search, attachments, fragments, history, exports of a page all do), which notes a read only a grant
allows; the after-request hook here writes one row per such group. No URL is guessed at.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, request
from flask_login import current_user
from sqlalchemy import func, select

from .. import policy
from ..extensions import db
from ..i18n import _, number
from ..models import AccessLog, Group, Membership, SupportGrant, User, utcnow
from ..services.errors import Invalid, NotAllowed, NotFound
from ..services import audit

MAX_DAYS = 30


def operators() -> list[User]:
    """The site operators a grant can name."""
    return list(db.session.scalars(select(User).where(User.is_site_admin.is_(True), User.deleted_at.is_(None))
                                   .order_by(User.name, User.id)))


def grant(*, actor, group_id: int, operator_id: int, reason: str, days: int) -> SupportGrant:
    group = db.session.get(Group, group_id)
    if group is None:
        raise NotFound(_("There is no such group."))
    if not policy.can_administer(actor, group):
        raise NotAllowed(_("Only the group's admins can grant support access."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why support needs access, so everyone can see it later."), field="reason")
    if len(reason) > 1000:
        raise Invalid(_("Keep the reason under %(limit)s characters.", limit=number(1000)), field="reason")
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise Invalid(_("Choose between 1 and %(max)s days.", max=MAX_DAYS), field="days")
    operator = db.session.get(User, operator_id) if isinstance(operator_id, int) else None
    if not policy.is_operator(operator):
        raise Invalid(_("Choose the site operator who needs access."), field="operator_id")
    now = utcnow()
    row = SupportGrant(group_id=group.id, granted_by_id=actor.id, operator_id=operator.id, reason=reason,
                       created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    audit.record(actor.id, group.id, "support_granted", grant_id=row.id, days=days, reason=reason,
                 operator=operator.id)
    db.session.commit()
    return row


def revoke(*, actor, group_id: int, grant_id: int) -> SupportGrant:
    row = db.session.get(SupportGrant, grant_id)
    if row is None or row.group_id != group_id:
        raise NotFound(_("There is no such support grant."))
    group = db.session.get(Group, row.group_id)
    if not policy.can_administer(actor, group):
        raise NotAllowed(_("Only the group's admins can revoke support access."))
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(actor.id, group.id, "support_revoked", grant_id=row.id)
        db.session.commit()
    return row


def operator_overview(actor) -> list[dict]:
    """Every group with its size and this operator's active grant (names and sizes: no content)."""
    if not policy.is_operator(actor):
        raise NotAllowed(_("Only site operators can see the list of groups."))
    sizes = dict(db.session.execute(
        select(Membership.group_id, func.count(Membership.id)).group_by(Membership.group_id)).all())
    return [{"group": group, "size": sizes.get(group.id, 0), "grant": policy.active_support_grant(actor, group)}
            for group in db.session.scalars(select(Group).order_by(func.lower(Group.name)))]


def grants_for(group_id: int) -> list[SupportGrant]:
    return list(db.session.scalars(
        select(SupportGrant).where(SupportGrant.group_id == group_id).order_by(SupportGrant.id.desc())
    ))


def access_log(group_id: int, limit: int = 500) -> list[AccessLog]:
    return list(db.session.scalars(
        select(AccessLog).where(AccessLog.group_id == group_id).order_by(AccessLog.id.desc()).limit(limit)
    ))


def log_access(user, group: Group, path: str) -> AccessLog | None:
    """Write one access-log row if this user sees the group only because of a support grant."""
    if not policy.viewing_under_grant(user, group):
        return None
    active = policy.active_support_grant(user, group)
    row = AccessLog(grant_id=active.id if active else None, group_id=group.id, operator_id=user.id, path=path[:500])
    db.session.add(row)
    db.session.commit()
    return row


def init_app(app: Flask) -> None:
    """Write the access log for what the policy noted was read under a grant (wired by the factory)."""

    @app.after_request
    def record_operator_views(response):
        read = g.pop(policy.READ_UNDER_GRANT, None)
        if not read or response.status_code >= 400:
            return response
        user = current_user._get_current_object()
        from ..redaction import redact

        for group in read.values():
            log_access(user, group, redact(request.full_path.rstrip("?")))
        return response
