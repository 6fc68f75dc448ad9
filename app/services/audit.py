"""The audit log of admin actions (role changes, removals, exports, imports, grants, key rotation):
one entry in the same transaction as the change it records."""
from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import AuditLog


def record(actor_id: int | None, group_id: int | None, action: str, **details) -> AuditLog:
    """Add one entry to the current transaction (the caller commits with its own change)."""
    entry = AuditLog(actor_id=actor_id, group_id=group_id, action=action[:40], details=_plain(details))
    db.session.add(entry)
    return entry


def for_group(group_id: int, limit: int = 200) -> list[AuditLog]:
    return list(db.session.scalars(
        select(AuditLog).where(AuditLog.group_id == group_id).order_by(AuditLog.id.desc()).limit(limit)
    ))


def _plain(details: dict) -> dict:
    """JSON-safe details: anything unusual becomes its string form."""
    out = {}
    for key, value in details.items():
        out[key] = value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)
    return out
