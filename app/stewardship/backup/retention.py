"""Which backups to keep: 7 daily, 4 weekly and 6 monthly."""
from __future__ import annotations

from datetime import datetime, timezone


from .common import NAME_RE
from .destinations import Destination


KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 6


def taken_at(name: str) -> datetime:
    return datetime.strptime(NAME_RE.match(name).group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def keep_set(names: list[str]) -> set[str]:
    """7 daily, 4 weekly, 6 monthly: the newest backup of each of the latest periods."""
    ordered = sorted(names, key=taken_at, reverse=True)
    keep: set[str] = set()
    for period, count in ((lambda d: d.date(), KEEP_DAILY), (lambda d: d.isocalendar()[:2], KEEP_WEEKLY),
                          (lambda d: (d.year, d.month), KEEP_MONTHLY)):
        seen = []
        for name in ordered:
            key = period(taken_at(name))
            if key not in seen:
                seen.append(key)
                if len(seen) > count:
                    break
                keep.add(name)
    return keep


def apply_retention(target: Destination) -> list[str]:
    """The same rule for every kind of destination: keep_set decides, the destination deletes."""
    names = target.list()
    keep = keep_set(names)
    removed = [n for n in names if n not in keep]
    for name in removed:
        target.delete(name)
    return removed


def newest(target: Destination) -> str | None:
    names = target.list()
    return max(names, key=taken_at) if names else None
