"""/admin/people: site admins find people (never their words), deactivate, reactivate and erase them."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Comment, SignInEvent, User, utcnow
from app.services import discussions
from mail.pipeline import process
from tests.email_actions.conftest import message
from tests.factories import UserFactory
from tests.helpers import post, sign_in


def test_only_site_admins_see_the_people_page(client, garden):
    sign_in(client, garden.ada)  # a group admin is not a site admin
    assert client.get("/admin/people").status_code == 404
    assert post(client, f"/admin/people/{garden.bob.id}/deactivate").status_code == 404
    db.session.refresh(garden.bob)
    assert garden.bob.deactivated_at is None


def test_people_are_listed_and_searched_without_group_content(client, garden, site_admin):
    discussions.post_comment(actor_id=garden.bob.id, discussion_id=garden.thread.id, body="Secret compost recipe")
    db.session.add(SignInEvent(user_id=garden.bob.id, method="link", created_at=utcnow()))
    db.session.commit()
    sign_in(client, site_admin)
    page = client.get("/admin/people").get_data(as_text=True)
    assert "bob@example.org" in page and "dee@example.org" in page
    assert "Secret compost recipe" not in page and "Garden day" not in page
    found = client.get("/admin/people?q=BOB").get_data(as_text=True)
    assert "bob@example.org" in found and "dee@example.org" not in found
    row = found[found.index(f'id="person-{garden.bob.id}"'):]
    assert utcnow().strftime("%Y-%m-%d") in row.split("</tr>")[0]  # last seen
    assert "<td>1</td>" in row.split("</tr>")[0]  # one group
    assert "No one matches" in client.get("/admin/people?q=nobody%25").get_data(as_text=True)


def test_a_deactivated_account_cannot_sign_in_or_act_by_mail(client, garden, site_admin, outbox):
    sign_in(client, garden.bob)
    assert client.get("/account").status_code == 200
    admin = client.application.test_client()
    sign_in(admin, site_admin)
    assert post(admin, f"/admin/people/{garden.bob.id}/deactivate").status_code == 303
    assert client.get("/account").status_code == 302  # the open session ended
    sign_in(client, garden.bob)  # and a new one does not work either
    assert client.get("/account").status_code == 302

    to = garden.address(garden.bob, "discussion", garden.thread.id)
    outcome = process(message(sender="bob@example.org", to=to, body="Me again"), envelope_from="bob@example.org",
                      recipients=[to])
    assert outcome.action == "refused" and "deactivated" in outcome.reason
    assert "deactivated by the site's administrators" in outbox.last_to("bob@example.org").text
    assert db.session.scalar(select(Comment).where(Comment.body.contains("Me again"))) is None

    assert post(admin, f"/admin/people/{garden.bob.id}/reactivate").status_code == 303
    sign_in(client, garden.bob)
    assert client.get("/account").status_code == 200
    actions = list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions[-2:] == ["account_deactivated", "account_reactivated"]


def test_a_deactivated_person_signing_in_is_told_why(client, garden):
    from app.auth_session import sign_in as start

    garden.bob.deactivated_at = utcnow()
    db.session.commit()
    with client.application.test_request_context("/login"):
        from flask import get_flashed_messages

        start(garden.bob)
        assert any("deactivated" in m for m in get_flashed_messages())


def test_a_site_admin_erases_a_person_on_request(client, garden, site_admin, outbox):
    discussions.post_comment(actor_id=garden.bob.id, discussion_id=garden.thread.id, body="My last words")
    sign_in(client, site_admin)
    wrong = post(client, f"/admin/people/{garden.bob.id}/erase", {"confirm": "yes"})
    assert wrong.status_code == 303
    assert db.session.get(User, garden.bob.id).deleted_at is None
    assert post(client, f"/admin/people/{garden.bob.id}/erase", {"confirm": "bob@example.org"}).status_code == 303
    db.session.expire_all()
    bob = db.session.get(User, garden.bob.id)
    assert bob.deleted_at is not None and bob.email is None
    assert "deleted" in outbox.last_to("bob@example.org").subject.lower()
    assert db.session.scalar(select(Comment).where(Comment.body == "My last words")) is not None  # content stays
    assert "bob@example.org" not in client.get("/admin/people").get_data(as_text=True)
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "account_erased")).actor_id == site_admin.id


def test_a_site_admin_cannot_deactivate_or_erase_themselves(client, site_admin):
    sign_in(client, site_admin)
    post(client, f"/admin/people/{site_admin.id}/deactivate")
    post(client, f"/admin/people/{site_admin.id}/erase", {"confirm": "root@example.org"})
    db.session.refresh(site_admin)
    assert site_admin.deactivated_at is None and site_admin.deleted_at is None
    assert UserFactory().id  # the page still works for others
    assert client.get("/admin/people").status_code == 200
