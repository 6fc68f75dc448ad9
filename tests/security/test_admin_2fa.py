"""Review finding 2: where a group requires two-factor sign-in for admins, an admin without it has
no power a plain member lacks: every policy check, every admin page and action, by web or mail."""
from __future__ import annotations

import inspect
from datetime import timedelta

import pytest

from app import policy
from app.extensions import db
from app.models import Comment, Discussion, Group, Membership, Poll, utcnow
from tests.factories import CommentFactory, DiscussionFactory, GroupFactory, UserFactory, member
from tests.helpers import post, sign_in


@pytest.fixture
def strict_group(clean_app):
    group = GroupFactory(handle="board", name="Board", privacy="closed", admins_require_2fa=True,
                         admins_can_edit_others_comments=True, admins_can_delete_others_comments=True)
    careful = member(group, role="admin", name="Careful", totp_enabled_at=utcnow())
    lax = member(group, role="admin", name="Lax")  # admin role, but no second factor
    plain = member(group, name="Plain")
    target = member(group, name="Target")
    thread = DiscussionFactory(group=group, author=target, title="Budget")
    comment = CommentFactory(discussion=thread, author=target, body="Numbers")
    poll = Poll(group_id=group.id, discussion_id=thread.id, author_id=target.id, poll_type="proposal", title="Adopt?",
                closing_at=utcnow() + timedelta(days=3))
    db.session.add(poll)
    db.session.commit()
    other = GroupFactory(handle="other", privacy="closed")
    MembershipFactory = Membership
    db.session.add(MembershipFactory(group_id=other.id, user_id=lax.id, role="admin"))
    db.session.commit()
    return dict(group=group, careful=careful, lax=lax, plain=plain, target=target, thread=thread, comment=comment,
                poll=poll)


def _policy_checks():
    """Every may-this-person-do-this check in app/policy.py that takes a person and one object."""
    subjects = {"Group": "group", "Discussion": "thread", "Poll": "poll", "Comment": "comment", "comment": "comment"}
    for name, fn in inspect.getmembers(policy, inspect.isfunction):
        if fn.__module__ != policy.__name__ or name.startswith("_"):
            continue
        params = list(inspect.signature(fn).parameters.values())
        if len(params) < 2 or params[0].name != "user":
            continue
        second = params[1]
        kind = subjects.get(str(second.annotation).strip("'\""), subjects.get(second.name))
        if kind is None:
            continue
        if any(p.default is inspect.Parameter.empty for p in params[2:]):
            continue
        yield name, fn, kind


def test_an_admin_without_the_required_second_factor_has_only_a_members_powers(strict_group):
    s = strict_group
    checks = list(_policy_checks())
    assert len(checks) > 25, "the enumeration found the policy's checks"
    admin_only = []
    for name, fn, kind in checks:
        if name in ("holds_admin_role", "needs_2fa_to_administer", "membership", "thread_permissions",
                    "active_support_grant"):  # descriptions, not permissions (thread_permissions: via can_edit_comment…)
            continue
        obj = s[kind]
        lax, plain, careful = fn(s["lax"], obj), fn(s["plain"], obj), fn(s["careful"], obj)
        assert lax == plain, f"{name}: an admin without 2FA gets {lax!r}, a member {plain!r}"
        if careful != plain:
            admin_only.append(name)
    # The same checks do give a real admin more, so the comparison above can fail.
    assert {"can_change_settings", "can_manage_members", "can_administer", "can_export", "can_pin_discussion",
            "can_administer_poll", "can_edit_comment", "can_delete_comment"} <= set(admin_only)
    assert policy.needs_2fa_to_administer(s["lax"], s["group"])


def test_admin_actions_on_the_web_are_refused_without_the_second_factor(strict_group, client):
    s = strict_group
    sign_in(client, s["lax"])
    attempts = [
        ("/g/board/settings", {"name": "Board", "description": "", "privacy": "open"}),
        (f"/g/board/members/{s['plain'].id}/role", {"role": "admin"}),
        (f"/g/board/members/{s['target'].id}/remove", {}),
        ("/g/board/join-link", {"enabled": "1"}),
        ("/g/board/held/1/allow", {"member_id": str(s["plain"].id)}),
        ("/g/board/held/1/block", {}),
        ("/g/board/support", {"reason": "help", "days": "3"}),
        ("/g/board/require-2fa", {"required": "0"}),
        ("/g/board/export", {}),
        (f"/d/{s['thread'].id}/pin", {}),
        (f"/p/{s['poll'].id}/close", {}),
    ]
    for url, data in attempts:
        response = post(client, url, data)
        assert response.status_code in (403, 404), (url, response.status_code)
    db.session.expire_all()
    group = db.session.get(Group, s["group"].id)
    assert group.privacy == "closed" and group.join_token is None and group.admins_require_2fa
    assert db.session.scalar(db.select(Membership.role).where(Membership.user_id == s["plain"].id)) == "member"
    assert db.session.scalar(db.select(Membership.id).where(Membership.user_id == s["target"].id))
    assert db.session.get(Poll, s["poll"].id).closed_at is None
    assert db.session.get(Discussion, s["thread"].id).pinned_at is None
    page = client.get("/g/board/settings")
    assert page.status_code == 403
    assert "two-factor" in client.get("/g/board/support").text


def test_a_thread_cannot_be_moved_into_a_group_whose_rule_the_admin_does_not_meet(strict_group, client):
    s = strict_group
    other = db.session.scalar(db.select(Group).where(Group.handle == "other"))
    thread = DiscussionFactory(group=other, author=s["lax"], title="Move me")
    from app.services import discussions

    assert s["group"] not in discussions.move_targets(s["lax"], thread)


def test_a_required_passkey_is_a_second_factor_for_every_admin_check(strict_group):
    """docs/SIGNIN.md: a member who requires a passkey at every sign-in has a second factor."""
    from app.models import Passkey, PasskeyPreference

    s = strict_group
    db.session.add(Passkey(user_id=s["lax"].id, credential_id="cred-lax", public_key=b"k", sign_count=0,
                           transports="", name="Phone"))
    db.session.add(PasskeyPreference(user_id=s["lax"].id, passkey_required=True))
    db.session.commit()
    from flask import g

    g.pop("_passkey_required", None)
    for name, fn, kind in _policy_checks():
        if name in ("membership", "thread_permissions", "active_support_grant"):
            continue
        assert fn(s["lax"], s[kind]) == fn(s["careful"], s[kind]), name
    assert not policy.needs_2fa_to_administer(s["lax"], s["group"])
