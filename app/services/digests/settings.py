"""A member's digest schedule and per-group volumes."""
from __future__ import annotations


from sqlalchemy import func, select

from ...extensions import db
from ...models import (
    VOLUMES, Group, Membership, User,
)
from ..errors import Invalid
from .due import FREQUENCIES


def save_settings(*, user_id: int, frequency: str, weekday: str | int, hour: str | int,
                  volumes: dict[int, str]) -> User:
    """Save a member's digest schedule and per-group volumes (only for groups they belong to)."""
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise Invalid("Please sign in first.")
    if frequency not in FREQUENCIES:
        raise Invalid("Choose no digest, daily or weekly.", field="frequency")
    try:
        weekday, hour = int(weekday), int(hour)
    except (TypeError, ValueError):
        raise Invalid("Choose a day and an hour from the lists.", field="hour") from None
    if not 0 <= weekday <= 6:
        raise Invalid("Choose a day from the list.", field="weekday")
    if not 0 <= hour <= 23:
        raise Invalid("Choose an hour from the list.", field="hour")
    for gid, volume in volumes.items():
        if volume not in VOLUMES:
            raise Invalid("Choose one of the listed options for each group.", field=f"volume-{gid}")
    user.digest_frequency, user.digest_weekday, user.digest_hour = frequency, weekday, hour
    if volumes:
        for membership in db.session.scalars(
            select(Membership).where(Membership.user_id == user.id, Membership.group_id.in_(list(volumes)))
        ):
            membership.volume = volumes[membership.group_id]
    db.session.commit()
    return user


def memberships_for_settings(user_id: int) -> list[tuple[Membership, Group]]:
    return list(db.session.execute(
        select(Membership, Group).join(Group, Group.id == Membership.group_id)
        .where(Membership.user_id == user_id, Group.archived_at.is_(None)).order_by(func.lower(Group.name))
    ).tuples())
