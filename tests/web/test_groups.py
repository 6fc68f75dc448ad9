"""Groups in the browser: create, subgroups, settings, members, invitations, join links and requests."""
from __future__ import annotations

import pytest

from app.models import AuditLog, Group, Invitation, JoinRequest, Membership, User
from app.services import discussions
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import post, sign_in


def _path(link: str) -> str:
    return link.replace("http://localhost", "")


def _invite_link(mail) -> str:
    return _path(next(link for link in mail.links() if "/invitations/" in link))


@pytest.fixture
def ann(clean_app):
    return UserFactory(email="ann@example.org", name="Ann")


def test_a_member_creates_a_group_and_becomes_its_admin(client, ann, db_session):
    sign_in(client, ann)
    response = post(client, "/groups/new", {"name": "Garden", "handle": "Garden", "privacy": "secret",
                                            "description": "Veg"})
    assert response.status_code == 303 and response.location == "/g/garden"
    group = db_session.query(Group).one()
    assert group.privacy == "secret"
    assert db_session.query(Membership).one().role == "admin"
    page = client.get("/g/garden").get_data(as_text=True)
    assert "Garden" in page and "garden@quorum.test" in page and "Settings" in page


@pytest.mark.parametrize("form, message", [
    ({"name": "", "handle": "x"}, "Please give the group a name."),
    ({"name": "G", "handle": "Bad handle!"}, "lower-case letters"),
    ({"name": "G", "handle": "postmaster"}, "reserved"),
    ({"name": "G", "handle": "g", "privacy": "public"}, "Choose open, closed or secret."),
])
def test_bad_group_input_is_explained_and_nothing_is_made(client, ann, db_session, form, message):
    sign_in(client, ann)
    response = post(client, "/groups/new", {"privacy": "closed", **form})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db_session.query(Group).count() == 0


def test_one_level_of_subgroups_and_secret_parents_keep_them_secret(client, ann, db_session):
    sign_in(client, ann)
    post(client, "/groups/new", {"name": "Coop", "handle": "coop", "privacy": "secret"})
    response = post(client, "/groups/new", {"name": "Roof", "handle": "roof", "privacy": "open", "parent": "coop"})
    assert response.status_code == 422 and b"must be secret too" in response.data
    assert post(client, "/groups/new", {"name": "Roof", "handle": "roof", "privacy": "secret",
                                        "parent": "coop"}).status_code == 303
    assert b"Roof" in client.get("/g/coop").data
    assert client.get("/groups/new?parent=roof").status_code == 403  # no sub-subgroups
    other = UserFactory()
    sign_in(client, other)
    assert post(client, "/groups/new", {"name": "X", "handle": "x", "privacy": "secret",
                                        "parent": "coop"}).status_code == 404


def test_settings_change_permission_flags_and_are_admin_only(client, ann, db_session):
    group = GroupFactory(handle="garden", name="Garden")
    member(group, role="admin", email="admin@example.org")
    bob = member(group, email="bob@example.org")
    sign_in(client, bob)
    assert client.get("/g/garden/settings").status_code == 403
    assert post(client, "/g/garden/settings", {"name": "Hacked", "privacy": "open"}).status_code == 403
    admin = db_session.query(User).filter_by(email="admin@example.org").one()
    sign_in(client, admin)
    page = client.get("/g/garden/settings").get_data(as_text=True)
    assert "Members may start threads" in page
    response = post(client, "/g/garden/settings", {"name": "Garden group", "privacy": "closed", "description": "",
                                                   "members_can_invite": "on"})
    assert response.status_code == 303
    db_session.refresh(group)
    assert group.name == "Garden group" and group.members_can_invite and not group.members_can_start_threads
    assert db_session.query(AuditLog).filter_by(action="settings_changed").count() == 1
    sign_in(client, bob)
    assert client.get("/g/garden/d/new").status_code == 403
    assert b"Start a thread" not in client.get("/g/garden").data


def test_invitation_by_email_accepted_by_a_new_person(client, ann, outbox, db_session, clean_app):
    group = GroupFactory(handle="garden", name="Garden")
    from tests.factories import MembershipFactory

    MembershipFactory(group=group, user=ann, role="admin")
    sign_in(client, ann)
    response = post(client, "/g/garden/invitations", {"emails": "New@Example.org, bad", "message": "Come!"})
    assert response.status_code == 422 and b"is not an email address" in response.data and len(outbox) == 0
    response = post(client, "/g/garden/invitations", {"emails": "New@Example.org\nann@example.org", "message": "Come!"})
    assert response.status_code == 303
    assert db_session.query(User).filter_by(email="new@example.org").count() == 0  # only the invitation
    mail = outbox.last_to("new@example.org")
    assert "Garden" in mail.subject and "Come!" in mail.text
    assert len(outbox) == 1  # ann is already a member
    link = _invite_link(mail)
    invitee = clean_app.test_client()
    page = invitee.get(link)
    assert page.status_code == 200 and b"Accept the invitation" in page.data and b"Your name" in page.data
    assert db_session.query(Membership).count() == 1  # opening the link changes nothing
    assert post(invitee, link, {"name": ""}).status_code == 422
    response = post(invitee, link, {"name": "Nia"})
    assert response.status_code == 303 and response.location == "/g/garden"
    nia = db_session.query(User).filter_by(email="new@example.org").one()
    assert nia.name == "Nia" and db_session.query(Membership).filter_by(user_id=nia.id).count() == 1
    assert b"Garden" in invitee.get("/").data  # signed in
    assert post(clean_app.test_client(), link, {"name": "Again"}).status_code == 410  # single use


def test_resend_replaces_the_link_and_revoke_kills_it(client, ann, outbox, db_session, clean_app):
    group = GroupFactory(handle="garden")
    from tests.factories import MembershipFactory

    MembershipFactory(group=group, user=ann, role="admin")
    sign_in(client, ann)
    post(client, "/g/garden/invitations", {"emails": "zed@example.org"})
    first = _invite_link(outbox.last_to("zed@example.org"))
    invitation = db_session.query(Invitation).one()
    assert b"zed@example.org" in client.get("/g/garden/members").data
    assert post(client, f"/g/garden/invitations/{invitation.id}/resend").status_code == 303
    second = _invite_link(outbox.last_to("zed@example.org"))
    assert first != second
    other = clean_app.test_client()
    assert other.get(first).status_code == 410 and other.get(second).status_code == 200
    assert post(client, f"/g/garden/invitations/{invitation.id}/revoke").status_code == 303
    response = other.get(second)
    assert response.status_code == 410 and b"withdrawn" in response.data


def test_members_may_not_invite_unless_the_group_allows_it(client, db_session):
    group = GroupFactory(handle="garden")
    bob = member(group)
    sign_in(client, bob)
    assert post(client, "/g/garden/invitations", {"emails": "x@example.org"}).status_code == 403
    group.members_can_invite = True
    db_session.commit()
    assert post(client, "/g/garden/invitations", {"emails": "x@example.org"}).status_code == 303


def test_join_link_can_be_reset_and_joins_in_one_click(client, db_session, clean_app):
    group = GroupFactory(handle="garden", name="Garden", privacy="secret")
    admin = member(group, role="admin")
    sign_in(client, admin)
    post(client, "/g/garden/join-link", {"enabled": "1"})
    old = db_session.get(Group, group.id).join_token
    post(client, "/g/garden/join-link", {"enabled": "1"})
    db_session.refresh(group)
    assert group.join_token and group.join_token != old
    joiner = clean_app.test_client()
    assert joiner.get(f"/join/{old}").status_code == 410
    assert post(joiner, f"/join/{group.join_token}").location.startswith("/login?next=/join/")
    person = UserFactory()
    sign_in(joiner, person)
    assert post(joiner, f"/join/{group.join_token}").status_code == 303
    assert db_session.query(Membership).filter_by(user_id=person.id, group_id=group.id).count() == 1


def test_closed_groups_take_requests_and_admins_approve_or_ignore(client, outbox, db_session, clean_app):
    group = GroupFactory(handle="garden", name="Garden", privacy="closed")
    admin = member(group, role="admin", email="boss@example.org")
    asker, ignored = UserFactory(email="asker@example.org"), UserFactory(email="ignored@example.org")
    sign_in(client, asker)
    assert post(client, "/g/garden/join").status_code == 403  # not open
    assert post(client, "/g/garden/request", {"message": "Please"}).status_code == 303
    assert b"You have asked to join" in client.get("/g/garden").data
    assert "asks to join" in outbox.last_to("boss@example.org").subject
    other = clean_app.test_client()
    sign_in(other, ignored)
    post(other, "/g/garden/request")
    sign_in(client, admin)
    page = client.get("/g/garden/members").get_data(as_text=True)
    assert "Requests to join (2)" in page and "Please" in page
    # Pending requests come before the member table (on a phone the table pushed them far down).
    assert page.index("Requests to join") < page.index("<table")
    first, second = db_session.query(JoinRequest).order_by(JoinRequest.id).all()
    assert post(client, f"/g/garden/requests/{first.id}", {"decision": "approve"}).status_code == 303
    assert post(client, f"/g/garden/requests/{second.id}", {"decision": "ignore"}).status_code == 303
    assert "approved" in outbox.last_to("asker@example.org").text
    assert outbox.to("ignored@example.org") == []
    assert {m.user_id for m in db_session.query(Membership).filter_by(group_id=group.id)} == {admin.id, asker.id}


def test_open_groups_are_joinable_in_one_click(client, db_session):
    group = GroupFactory(handle="garden", privacy="open")
    person = UserFactory()
    sign_in(client, person)
    assert b"Join this group" in client.get("/g/garden").data
    assert post(client, "/g/garden/join").status_code == 303
    assert db_session.query(Membership).filter_by(user_id=person.id).count() == 1


def test_roles_remove_and_leave_keep_at_least_one_admin(client, db_session):
    group = GroupFactory(handle="garden")
    admin = member(group, role="admin")
    bob = member(group)
    sign_in(client, admin)
    response = post(client, "/g/garden/leave")
    assert response.status_code == 303 and db_session.query(Membership).filter_by(user_id=admin.id).count() == 1
    assert post(client, f"/g/garden/members/{admin.id}/role", {"role": "member"}).status_code == 422
    assert post(client, f"/g/garden/members/{bob.id}/role", {"role": "admin"}).status_code == 303
    assert post(client, f"/g/garden/members/{bob.id}/remove").status_code == 303
    assert db_session.query(Membership).filter_by(user_id=bob.id).count() == 0
    sign_in(client, bob)
    assert post(client, f"/g/garden/members/{admin.id}/remove").status_code == 403


def test_a_secret_group_is_invisible_to_outsiders_everywhere(client, db_session):
    group = GroupFactory(handle="hidden", name="Hidden circle", privacy="secret")
    insider = member(group, role="admin")
    thread = discussions.start_thread(actor_id=insider.id, group_id=group.id, title="Plotting quietly",
                                      body="zanzibar")
    comment = discussions.post_comment(actor_id=insider.id, discussion_id=thread.id, body="zanzibar reply")
    outsider = UserFactory(is_site_admin=True)
    for who in (None, outsider):
        c = client.application.test_client()
        if who:
            sign_in(c, who)
        for url in ("/g/hidden", "/g/hidden/members", f"/d/{thread.id}", f"/d/{thread.id}/history",
                    f"/c/{comment.id}/history", "/g/hidden/settings", "/g/hidden/d/new"):
            response = c.get(url)
            assert response.status_code in (404, 302), url
            assert b"Hidden circle" not in response.data and b"Plotting" not in response.data
        found = c.get("/search?q=zanzibar").get_data(as_text=True)
        assert "Plotting" not in found and "0 results" in found
        assert b"Hidden" not in c.get("/").data
