"""Who is due a digest now: each member's hour in their own time zone, once per period."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select

from ...extensions import db
from ...timezones import zone
from ...models import DigestDelivery, Membership, User, utcnow


FREQUENCIES = ("off", "daily", "weekly")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# Members per digest batch job. A batch holds everything its members' digests draw on while it builds
# them; the heap it grows to stays with the worker afterwards, so smaller batches keep an idle worker
# small. On the bench's dataset, after 1,000 digests `quorum background` held 246 MB with batches of
# 500, 151 with 100, 132 with 50; 10,000 digests took 35 s and 40 s (500, 50).
BATCH_SIZE = 50


def pending_seconds() -> int:
    """A member handed to a batch job is not handed out again for this long (two schedulers, or
    the next check before the batch is done): three checks (15 minutes by default), so a batch a
    killed worker dropped is handed out again at the fourth."""
    from flask import current_app

    return 3 * int(current_app.config["DIGEST_CHECK_SECONDS"])


def period_key(frequency: str, local: datetime) -> str:
    """`daily:2026-11-26` or `weekly:2026-W48`, in the member's local calendar."""
    if frequency == "weekly":
        year, week, _ = local.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    return f"daily:{local.date().isoformat()}"


def due_period(*, frequency: str, weekday: int, hour: int, time_zone: str, now: datetime,
               ignore_hour: bool = False) -> str | None:
    """The period whose digest is due at UTC instant `now`, or None if the hour has not come yet.

    Local time comes from zoneinfo, so it follows DST: an hour skipped in spring is served at the
    next local hour; an hour that happens twice in autumn has one period key, so one digest.
    """
    if frequency not in ("daily", "weekly"):
        return None
    local = now.astimezone(zone(time_zone))
    if not ignore_hour:
        if frequency == "daily" and local.hour < hour:
            return None
        if frequency == "weekly" and (local.weekday(), local.hour) < (weekday, hour):
            return None
    return period_key(frequency, local)


@dataclass(frozen=True)
class Due:
    user_id: int
    period_key: str


def _effective_frequency(frequency: str, has_digest_group: bool) -> str:
    # Choosing "digest" for a group with digests switched off would silently drop its mail.
    if frequency in ("daily", "weekly"):
        return frequency
    return "daily" if has_digest_group else "off"


def find_due(now: datetime, *, ignore_hour: bool = False, user_ids: list[int] | None = None) -> list[Due]:
    """Members due a digest at `now` that have not had one for the period (two queries)."""
    has_digest_group = exists().where(Membership.user_id == User.id, Membership.volume == "digest")
    home_group = (select(func.min(Membership.group_id)).where(Membership.user_id == User.id)
                  .correlate(User).scalar_subquery())
    query = (
        select(User.id, User.time_zone, User.digest_frequency, User.digest_weekday, User.digest_hour,
               has_digest_group.label("has_digest_group"), home_group.label("home"))
        .where(User.deleted_at.is_(None), User.email.is_not(None), User.email_suspended_at.is_(None),
               or_(User.digest_frequency.in_(("daily", "weekly")), has_digest_group))
    )
    if user_ids is not None:
        query = query.where(User.id.in_(user_ids))
    candidates = []
    for row in db.session.execute(query):
        frequency = _effective_frequency(row.digest_frequency, bool(row.has_digest_group))
        key = due_period(frequency=frequency, weekday=row.digest_weekday or 0, hour=row.digest_hour or 0,
                         time_zone=row.time_zone, now=now, ignore_hour=ignore_hour)
        if key is not None:
            candidates.append((row.home or 0, row.id, key))
    if not candidates:
        return []
    keys = {key for _, _, key in candidates}
    done = set(db.session.execute(
        select(DigestDelivery.user_id, DigestDelivery.period_key).where(DigestDelivery.period_key.in_(keys))
    ).tuples())
    # Sorted by home group so a batch covers few groups (its content query stays small).
    return [Due(uid, key) for _, uid, key in sorted(candidates) if (uid, key) not in done]


def batches(due: list[Due], size: int = BATCH_SIZE) -> list[list[Due]]:
    return [due[i:i + size] for i in range(0, len(due), size)]


@dataclass(frozen=True)
class DueBatch:
    """Members whose digests one batch job builds, with the moment they fell due."""

    user_ids: list[int]
    period_keys: list[str]
    now: datetime


def due_batches(now: datetime | None = None) -> list[DueBatch]:
    """The scheduler's step: the due members, each claimed for exactly one batch job.

    A Redis marker per member and period (SET NX, expiring) stops a second scheduler, or the next
    run before the batch is done, from handing the member out again; if the worker dies, the marker
    expires and the member is picked up again. The database claim stays the final word.
    """
    from ...queue import redis_client

    now = now or utcnow()
    due = find_due(now)
    if not due:
        return []
    redis = redis_client()
    ttl = pending_seconds()
    pipe = redis.pipeline(transaction=False)
    for d in due:
        pipe.set(f"quorum:digest:pending:{d.user_id}:{d.period_key}", now.isoformat(), nx=True, ex=ttl)
    mine = [d for d, ok in zip(due, pipe.execute()) if ok]
    return [DueBatch([d.user_id for d in batch], [d.period_key for d in batch], now) for batch in batches(mine)]
