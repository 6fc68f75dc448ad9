"""Operator access by consent: group admins grant time-limited support access; every page an
operator views under a grant is written to the access log the group's admins can read.

Views call `note_group_view(group)` for the group whose content they show; as a safety net
the after-request hook also recognises the stable content URLs (/g/<handle>, /d/<id>, /p/<id>).
"""
from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask, g, request
from flask_login import current_user
from sqlalchemy import func, select

from .. import policy
from ..extensions import db
from ..models import AccessLog, Discussion, Group, Membership, Poll, SupportGrant, utcnow
from ..services.errors import Invalid, NotAllowed, NotFound
from ..services import audit

MAX_DAYS = 30
_CONTENT_URL = re.compile(r"^/(?:(g)/([a-z0-9-]{1,40})|(d)/(\d{1,12})|(p)/(\d{1,12}))(?:/|$)")


def note_group_view(group: Group) -> None:
    """Tell the access log which group's content this request shows (call from views)."""
    g.viewed_group = group


def grant(*, actor, group_id: int, reason: str, days: int) -> SupportGrant:
    group = db.session.get(Group, group_id)
    if group is None:
        raise NotFound("There is no such group.")
    if not policy.can_administer(actor, group):
        raise NotAllowed("Only the group's admins can grant support access.")
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why support needs access, so everyone can see it later.", field="reason")
    if len(reason) > 1000:
        raise Invalid("Keep the reason under 1,000 characters.", field="reason")
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise Invalid(f"Choose between 1 and {MAX_DAYS} days.", field="days")
    now = utcnow()
    row = SupportGrant(group_id=group.id, granted_by_id=actor.id, reason=reason, created_at=now,
                       expires_at=now + timedelta(days=days))
    db.session.add(row)
    db.session.flush()
    audit.record(actor.id, group.id, "support_granted", grant_id=row.id, days=days, reason=reason)
    db.session.commit()
    return row


def revoke(*, actor, group_id: int, grant_id: int) -> SupportGrant:
    row = db.session.get(SupportGrant, grant_id)
    if row is None or row.group_id != group_id:
        raise NotFound("There is no such support grant.")
    group = db.session.get(Group, row.group_id)
    if not policy.can_administer(actor, group):
        raise NotAllowed("Only the group's admins can revoke support access.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(actor.id, group.id, "support_revoked", grant_id=row.id)
        db.session.commit()
    return row


def operator_overview(actor) -> list[dict]:
    """Every group with its size and this operator's active grant (names and sizes: no content)."""
    if not policy.is_operator(actor):
        raise NotAllowed("Only site operators can see the list of groups.")
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


def _group_from_url(path: str) -> Group | None:
    match = _CONTENT_URL.match(path)
    if not match:
        return None
    if match.group(1):
        return db.session.scalar(select(Group).where(Group.handle == match.group(2)))
    if match.group(3):
        discussion = db.session.get(Discussion, int(match.group(4)))
        return discussion.group if discussion else None
    poll = db.session.get(Poll, int(match.group(6)))
    return poll.group if poll else None


def init_app(app: Flask) -> None:
    """Log every view of a group's content by a site operator (wired by the factory)."""

    @app.after_request
    def record_operator_views(response):
        try:
            user = current_user._get_current_object() if current_user else None
        except Exception:  # no login manager context (static files)
            return response
        if not policy.is_operator(user) or response.status_code >= 400 or request.method not in ("GET", "HEAD"):
            return response
        group = g.get("viewed_group") or _group_from_url(request.path)
        if group is not None:
            log_access(user, group, request.full_path.rstrip("?"))
        return response
