"""Bot accounts: a group's admins make a bot for their group (another tool's way in: a CI job, a chat
bridge), give it API tokens, and retire it. A bot is a user with no address and no sign-in that
belongs to that one group only (policy.bot_may_reach: every other group does not exist for it), is
labelled "(bot)" wherever its name shows, and does what a member may do there, through the API."""
from __future__ import annotations

from sqlalchemy import select

from .. import policy
from ..extensions import db
from ..models import ApiToken, Group, Membership, User, utcnow
from ..text import one_line
from . import api_tokens, audit, events
from .accounts import acting_member
from ..i18n import _
from .errors import Invalid, NotAllowed, NotFound, all_or_nothing

NAME_MAX = 60
MAX_BOTS = 20


def _managed_group(actor: User, group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or not policy.can_see_group(actor, group):
        raise NotFound(_("There is no such group."))
    if not policy.can_manage_bots(actor, group):
        raise NotAllowed(_("Only this group's admins can manage its bots."))
    return group


def bots_of(group_id: int) -> list[User]:
    """The group's bots (retired ones too, which hold no membership), newest first."""
    return list(db.session.scalars(select(User).where(User.bot_group_id == group_id).order_by(User.id.desc())))


def live_tokens(bot_ids: list[int]) -> dict[int, list[ApiToken]]:
    out: dict[int, list[ApiToken]] = {i: [] for i in bot_ids}
    if bot_ids:
        for row in db.session.scalars(select(ApiToken).where(ApiToken.user_id.in_(bot_ids),
                                                             ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)):
            out[row.user_id].append(row)
    return out


@all_or_nothing
def create_bot(*, actor_id: int, group_id: int, name: str, scope: str = "write") -> tuple[User, str]:
    """A new bot, a member of the group, and its first token (returned once)."""
    actor = acting_member(actor_id)
    group = _managed_group(actor, group_id)
    name = one_line(name or "")
    if not name:
        raise Invalid(_("Please give the bot a name."), field="name")
    if len(name) > NAME_MAX:
        raise Invalid(_("A bot's name can be at most %(limit)s characters.", limit=NAME_MAX), field="name")
    if len([b for b in bots_of(group.id) if b.deleted_at is None]) >= MAX_BOTS:
        raise Invalid(_("A group can have at most %(limit)s bots; retire one first.", limit=MAX_BOTS), field="name")
    bot = User(email=None, name=name, bot_group_id=group.id, email_verified_at=None, digest_frequency="off")
    db.session.add(bot)
    db.session.flush()
    token = api_tokens.add_token(bot, name=f"{name} token", scope=scope)
    db.session.add(Membership(group_id=group.id, user_id=bot.id, role="member", inviter_id=actor.id))
    events.record("member_joined", actor_id=bot.id, group_id=group.id)
    audit.record(actor.id, group.id, "bot_created", bot_id=bot.id, name=name, scope=scope)
    db.session.commit()
    policy.forget_memberships()
    return bot, token


def _bot_of(actor: User, group_id: int, bot_id: int) -> tuple[Group, User]:
    group = _managed_group(actor, group_id)
    bot = db.session.get(User, bot_id)
    if bot is None or bot.bot_group_id != group.id or bot.deleted_at is not None:
        raise NotFound(_("There is no such bot."))
    return group, bot


@all_or_nothing
def add_bot_token(*, actor_id: int, group_id: int, bot_id: int, scope: str) -> str:
    """Another token for a bot (e.g. to replace one), shown once."""
    actor = acting_member(actor_id)
    group, bot = _bot_of(actor, group_id, bot_id)
    token = api_tokens.add_token(bot, name=f"{bot.name} token", scope=scope)
    audit.record(actor.id, group.id, "bot_token_created", bot_id=bot.id, scope=scope)
    db.session.commit()
    return token


def retire_bot(*, actor_id: int, group_id: int, bot_id: int) -> User:
    """The bot stops at once: its tokens are revoked and it leaves the group; what it wrote stays,
    under its name."""
    actor = acting_member(actor_id)
    group, bot = _bot_of(actor, group_id, bot_id)
    api_tokens.revoke_all(bot.id)
    membership = db.session.scalar(select(Membership).where(Membership.group_id == group.id,
                                                            Membership.user_id == bot.id))
    if membership is not None:
        db.session.delete(membership)
    bot.deleted_at = utcnow()
    audit.record(actor.id, group.id, "bot_retired", bot_id=bot.id)
    db.session.commit()
    policy.forget_memberships()
    return bot


def revoke_bot_token(*, actor_id: int, group_id: int, bot_id: int, token_id: int) -> ApiToken:
    actor = acting_member(actor_id)
    group, bot = _bot_of(actor, group_id, bot_id)
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != bot.id:
        raise NotFound(_("There is no such token."))
    api_tokens.revoke(row)
    audit.record(actor.id, group.id, "bot_token_revoked", bot_id=bot.id)
    db.session.commit()
    return row
