"""Time zones: one lookup with one fallback (UTC), the list members choose from, and a time shown
in the reader's zone with the zone named. A zone name that does not resolve never breaks a page,
a mail or a digest; it is shown as UTC."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = "UTC"


@lru_cache(maxsize=512)
def zone(name: str | None) -> tzinfo:
    """The zone called `name`, or UTC if there is no such zone."""
    try:
        return ZoneInfo(name or UTC)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return timezone.utc


def is_known(name: str | None) -> bool:
    """Whether `name` is a zone a member may choose."""
    return bool(name) and name in _available()


def known_name(name: str | None) -> str:
    """`name` if it is a known zone, else "UTC" (the name to show beside a time)."""
    return name if is_known(name) else UTC


@lru_cache(maxsize=1)
def _available() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=1)
def choices() -> tuple[str, ...]:
    """The zones on the account and poll forms: UTC first, then every Area/City name."""
    return (UTC, *sorted(z for z in _available() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def local_time(value: datetime, name: str | None, fmt: str = "%a %-d %b %Y, %H:%M") -> str:
    """A time in the reader's zone, named: "Fri 6 Mar 2026, 17:00 (Europe/Berlin)"."""
    from .i18n import localized_time

    return f"{localized_time(_aware(value), zone(name), fmt)} ({known_name(name)})"


def local_slot(starts_at: datetime, name: str | None, duration_minutes: int | None = None) -> str:
    """A time slot in the reader's zone, named: "Sat 5 Dec 2026, 18:00–19:00 (Australia/Sydney)"."""
    from .i18n import localized_time

    text = localized_time(_aware(starts_at), zone(name), "%a %-d %b %Y, %H:%M")
    if duration_minutes:
        # The end in the zone's own time (a slot across a DST change ends at the clock's hour).
        text += f"–{localized_time(_aware(starts_at) + timedelta(minutes=duration_minutes), zone(name), '%H:%M')}"
    return f"{text} ({known_name(name)})"


def _aware(value: datetime) -> datetime:
    """Naive datetimes (SQLite) are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
