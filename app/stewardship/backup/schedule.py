"""The daily backup and the mail to site admins when one fails."""
from __future__ import annotations

import logging

from datetime import date

from sqlalchemy import select

from ...extensions import db
from ...models import User, utcnow
from .common import setting
from .destinations import destinations
from .retention import taken_at
from .snapshot import create

log = logging.getLogger(__name__)


def configured() -> bool:
    return bool(setting("BACKUP_DESTINATIONS")) and bool(setting("BACKUP_RECIPIENT"))


_told: list[bool] = []  # the worker says "not configured" once, not every hour


def backup_if_due(today: date | None = None) -> str:
    """The daily job: make today's backup unless every destination already has one."""
    if not configured():
        if not _told:
            _told.append(True)
            log.warning("backups are not configured (BACKUP_DESTINATIONS, BACKUP_AGE_RECIPIENT); see SECURITY.md")
        return "not configured"
    today = today or utcnow().date()
    try:
        targets = destinations()
        if all(any(taken_at(n).date() == today for n in t.list()) for t in targets):
            return "already done today"
        result = create()
    except Exception as error:
        alert_admins("backup", str(error))
        raise
    return f"written {result['name']}"


def alert_admins(what: str, message: str) -> int:
    """Email every site admin that a backup or verify failed (once per kind per day)."""
    from ...email import messages

    db.session.rollback()
    rows = []
    day = utcnow().date().isoformat()
    for admin in db.session.scalars(select(User).where(User.is_site_admin.is_(True), User.deleted_at.is_(None))):
        if not admin.email:
            continue
        rows.append(messages.backup_failed(admin=admin, what=what, message=message, day=day))
    db.session.commit()
    return len([r for r in rows if r is not None])
