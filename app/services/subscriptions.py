"""How much mail a member gets from a group or a thread: every message, digest only, mentions and
replies only, or mute. Every change of a volume goes through here, whichever way the member asked
(the settings page, a footer link, a command by mail, a spam complaint), and commits it."""
from __future__ import annotations

from sqlalchemy import select, update

from ..extensions import db
from ..models import VOLUMES, Membership, ReadState, User
from ..i18n import _
from .errors import Invalid


def set_group_volumes(user: User, volumes: dict[int, str]) -> None:
    """Set the member's volume in each group (groups they do not belong to are left alone)."""
    for group_id, volume in volumes.items():
        if volume not in VOLUMES:
            raise Invalid(_("Choose one of the listed options for each group."), field=f"volume-{group_id}")
    if volumes:
        for membership in db.session.scalars(
                select(Membership).where(Membership.user_id == user.id, Membership.group_id.in_(list(volumes)))):
            membership.volume = volumes[membership.group_id]
    db.session.commit()


def set_group_volume(user: User, group_id: int, volume: str) -> None:
    """One group's volume, asked for by a footer link or a mail command. Asking for a group's digest
    while digests are off turns daily digests on: digest volume with digests off would mean silence.
    (The settings page sets the schedule itself, beside the volumes.)"""
    if volume == "digest" and user.digest_frequency == "off":
        user.digest_frequency = "daily"
    set_group_volumes(user, {group_id: volume})


def mute_thread(user: User, discussion_id: int) -> None:
    """No more mail about one thread (mentions and replies to the member still come)."""
    state = db.session.scalar(
        select(ReadState).where(ReadState.user_id == user.id, ReadState.discussion_id == discussion_id))
    if state is None:
        state = ReadState(user_id=user.id, discussion_id=discussion_id, read_comments_count=0)
        db.session.add(state)
    state.volume = "mute"
    db.session.commit()


def mute_everything(user: User) -> int:
    """No more mail from any group (unsubscribe from all, or a spam complaint). Returns how many
    memberships were muted."""
    count = db.session.execute(update(Membership).where(Membership.user_id == user.id)
                               .values(volume="mute").execution_options(synchronize_session="fetch")).rowcount
    db.session.commit()
    return count


def stop_digests(user: User) -> None:
    """No more digests. A group at "digest" volume would bring a daily digest even with digests off
    (silence otherwise), so stopping digests mutes those groups, as the pages say."""
    user.digest_frequency = "off"
    db.session.execute(update(Membership).where(Membership.user_id == user.id, Membership.volume == "digest")
                       .values(volume="mute").execution_options(synchronize_session="fetch"))
    db.session.commit()
