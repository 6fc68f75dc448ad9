"""Bounce suspensions are visible: a group's admins see which members we no longer email, and why;
the member sees a banner; other members see neither."""
from __future__ import annotations

from app.extensions import db
from app.services.memberships import suspended_members
from mail import bounces
from tests.factories import GroupFactory, member
from tests.helpers import sign_in


def _garden():
    group = GroupFactory(handle="garden", name="Garden")
    ann = member(group, role="admin", name="Ann", email="ann@example.org")
    bob = member(group, name="Bob", email="bob@example.org")
    cat = member(group, name="Cat", email="cat@example.org")
    other = GroupFactory(handle="choir", name="Choir")
    member(other, name="Dan", email="dan@example.org")
    return group, ann, bob, cat


def test_admins_see_suspended_members_with_the_reason(client, clean_app):
    group, ann, bob, cat = _garden()
    bounces.record_bounce(bob, hard=True, detail="550 5.1.1 no such user")
    for _ in range(bounces.SOFT_BOUNCE_LIMIT):
        bounces.record_bounce(cat, hard=False, detail="452 4.2.2 mailbox full")
    assert [u.name for u in suspended_members(group.id)] == ["Bob", "Cat"]
    assert bounces.suspended_members is suspended_members  # the mail side uses the same query

    sign_in(client, ann)
    page = client.get("/g/garden/members").data.decode()
    assert "Not receiving email" in page
    assert "Bob &lt;bob@example.org&gt;: mail to this address bounced permanently" in page
    assert f"Cat &lt;cat@example.org&gt;: mail to this address bounced {bounces.SOFT_BOUNCE_LIMIT} times" in page


def test_other_members_do_not_see_the_list_and_the_member_sees_a_banner(client, clean_app):
    group, ann, bob, cat = _garden()
    bounces.record_bounce(bob, hard=True, detail="550 5.1.1 no such user")
    sign_in(client, cat)
    page = client.get("/g/garden/members").data.decode()
    assert "Not receiving email" not in page and "bounced" not in page
    client.post("/logout")
    sign_in(client, bob)
    page = client.get("/g/garden/members").data.decode()
    assert "We have stopped emailing bob@example.org: mail to this address bounced permanently" in page
    assert "Not receiving email" not in page


def test_nothing_is_listed_once_sending_resumes(client, clean_app):
    group, ann, bob, _ = _garden()
    bounces.record_bounce(bob, hard=True, detail="550 5.1.1 no such user")
    bounces.resume_sending(bob)
    db.session.expire_all()
    assert suspended_members(group.id) == []
    sign_in(client, ann)
    assert "Not receiving email" not in client.get("/g/garden/members").data.decode()
