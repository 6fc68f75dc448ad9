"""The visibility rule has three forms in app/policy.py: one person and one group
(`can_view_content`), many people and one group (`content_viewers`, the fan-out's), and one person
and every group in SQL (`visible_group_ids`, search's). They must agree everywhere."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app import policy
from app.extensions import db
from app.models import Membership, SupportGrant, utcnow
from tests.factories import GroupFactory, UserFactory

ROLES = ["signed_out", "stranger", "member", "admin", "operator", "operator_who_is_a_member", "deleted_member"]
PRIVACIES = ["open", "closed", "secret"]
GRANTS = ["none", "active", "expired", "revoked", "for_another_operator"]
ARCHIVED = [False, True]
ROLES += ["bot", "bot_of_another_group"]  # a bot reaches its own group only (policy.bot_may_reach)


def _person(role: str, group):
    if role == "signed_out":
        return None
    user = UserFactory(is_site_admin=role.startswith("operator"))
    if role.startswith("bot"):
        from app.models import Group

        user.email, user.bot_group_id = None, group.id
        if role == "bot":
            db.session.add(Membership(group_id=group.id, user_id=user.id, role="member"))
        else:
            user.bot_group_id = db.session.query(Group.id).filter_by(handle="other").scalar()
    if role in ("member", "admin", "operator_who_is_a_member", "deleted_member"):
        db.session.add(Membership(group_id=group.id, user_id=user.id, role="admin" if role == "admin" else "member"))
    if role == "deleted_member":
        user.deleted_at = utcnow()
    db.session.commit()
    return user


def _grant(kind: str, group, operator) -> None:
    """A grant of `kind` naming `operator` (or, for_another_operator, a different one)."""
    if kind == "none":
        return
    if kind == "for_another_operator" or operator is None or not operator.is_site_admin:
        operator = UserFactory(is_site_admin=True)
    now = utcnow()
    db.session.add(SupportGrant(
        group_id=group.id, operator_id=operator.id, reason="a support question",
        expires_at=now + (timedelta(hours=-1) if kind == "expired" else timedelta(hours=4)),
        revoked_at=now if kind == "revoked" else None))
    db.session.commit()


@pytest.mark.parametrize("archived", ARCHIVED)
@pytest.mark.parametrize("grant", GRANTS)
@pytest.mark.parametrize("privacy", PRIVACIES)
@pytest.mark.parametrize("role", ROLES)
def test_the_three_forms_of_the_visibility_rule_agree(clean_app, role, privacy, grant, archived):
    group = GroupFactory(handle="club", privacy=privacy, archived_at=utcnow() if archived else None)
    GroupFactory(handle="other", privacy="secret")  # a group nobody here may read
    person = _person(role, group)
    _grant(grant, group, person)
    policy.forget_memberships()

    one = policy.can_view_content(person, group)
    members = {m.user_id for m in db.session.query(Membership).filter_by(group_id=group.id)}
    many = person is not None and person.id in policy.content_viewers([person], group, members)
    if person is None:  # the fan-out only ever asks about people; a signed-out visitor is SQL and one-by-one
        many = one
    in_sql = group.id in policy.visible_group_ids(person)
    assert one == many == in_sql, (one, many, in_sql)


def test_the_rule_itself_for_the_cases_people_ask_about(clean_app):
    """Anchors, so the three forms cannot agree on something wrong."""
    closed = GroupFactory(handle="closed", privacy="closed")
    archived_open = GroupFactory(handle="old", privacy="open", archived_at=utcnow())
    stranger = UserFactory()
    operator = UserFactory(is_site_admin=True)
    assert not policy.can_view_content(stranger, closed)
    assert not policy.can_view_content(operator, closed)  # no grant, no content
    _grant("for_another_operator", closed, operator)
    assert not policy.can_view_content(operator, closed)  # a grant names its operator
    _grant("active", closed, operator)
    assert policy.can_view_content(operator, closed) and policy.viewing_under_grant(operator, closed)
    assert not policy.can_view_content(stranger, archived_open)
    _grant("active", archived_open, operator)
    assert not policy.can_view_content(operator, archived_open)  # archived: members only


def test_a_bot_reaches_its_own_group_and_no_other(clean_app):
    from app.services import bots

    home = GroupFactory(handle="home", privacy="closed")
    town = GroupFactory(handle="town", privacy="open")
    admin = UserFactory()
    db.session.add(Membership(group_id=home.id, user_id=admin.id, role="admin"))
    db.session.commit()
    bot, _ = bots.create_bot(actor_id=admin.id, group_id=home.id, name="Helper")
    assert policy.can_view_content(bot, home) and policy.can_start_thread(bot, home)
    assert not policy.can_see_group(bot, town) and not policy.can_view_content(bot, town)  # open, yet not for it
    assert policy.visible_group_ids(bot) == [home.id]
