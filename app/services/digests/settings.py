"""A member's digest schedule and per-group volumes."""
from __future__ import annotations


from sqlalchemy import func, select

from ... import policy
from ...extensions import db
from ...models import Group, Membership, User
from .. import subscriptions
from ..accounts import acting_member
from ...i18n import _
from ..errors import Invalid
from .due import FREQUENCIES


def save_settings(*, user_id: int, frequency: str, weekday: str | int, hour: str | int,
                  volumes: dict[int, str]) -> User:
    """Save a member's digest schedule and per-group volumes (only for groups they belong to)."""
    user = acting_member(user_id)
    if frequency not in FREQUENCIES:
        raise Invalid(_("Choose no digest, daily or weekly."), field="frequency")
    try:
        weekday, hour = int(weekday), int(hour)
    except (TypeError, ValueError):
        raise Invalid(_("Choose a day and an hour from the lists."), field="hour") from None
    if not 0 <= weekday <= 6:
        raise Invalid(_("Choose a day from the list."), field="weekday")
    if not 0 <= hour <= 23:
        raise Invalid(_("Choose an hour from the list."), field="hour")
    user.digest_frequency, user.digest_weekday, user.digest_hour = frequency, weekday, hour
    subscriptions.set_group_volumes(user, volumes)  # validates each, and commits the schedule with them
    return user


def memberships_for_settings(user_id: int) -> list[tuple[Membership, Group]]:
    return list(db.session.execute(
        select(Membership, Group).join(Group, Group.id == Membership.group_id)
        .where(Membership.user_id == user_id, policy.listed()).order_by(func.lower(Group.name))
    ).tuples())
