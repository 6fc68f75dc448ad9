"""Personal data: a member downloads everything about them (and nothing about anyone else),
and can delete their account: personal data gone, content kept as "deleted member"."""
from __future__ import annotations

import json

from app.extensions import db
from app.models import Comment, Membership, RecoveryCode, SignInEvent, User, UserAlias, utcnow
from tests.helpers import post, sign_in


def test_personal_export_holds_my_data_and_nobody_elses(rich_group, client):
    bea = rich_group["bea"]
    db.session.add_all([SignInEvent(user_id=bea.id, method="code", ip_address="203.0.113.9", user_agent="Phone"),
                        SignInEvent(user_id=rich_group["admin"].id, method="link", ip_address="198.51.100.1"),
                        UserAlias(user_id=bea.id, email="bea.work@example.org", verified_at=utcnow())])
    db.session.commit()
    sign_in(client, bea)
    assert "Download my data" in client.get("/account/data").text
    response = client.get("/account/data/export.json")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    text = response.data.decode()
    assert data["profile"]["email"] == "bea@example.org" and data["profile"]["name"] == "Bea Builder"
    assert [a["email"] for a in data["aliases"]] == ["bea.work@example.org"]
    assert {m["group"] for m in data["memberships"]} == {"allotments"}
    assert "I can fix it on Saturday." in [c["body"] for c in data["comments"]]
    assert {v["poll_title"] for v in data["votes"]} == {"Buy a new roof", "Paint it green", "Hidden until closed"}
    assert data["sign_in_history"] == [{"method": "code", "ip_address": "203.0.113.9", "user_agent": "Phone",
                                        "created_at": data["sign_in_history"][0]["created_at"]}]
    assert data["notification_settings"]["threads"][0]["volume"] == "mentions"
    for other in ("ada@example.org", "Ada Admin", "Thank you!", "198.51.100.1", "Count me in.", "Too expensive"):
        assert other not in text


def test_anonymous_votes_are_not_in_the_personal_export(rich_group, client):
    sign_in(client, rich_group["cy"])
    data = json.loads(client.get("/account/data/export.json").data)
    assert data["votes"] == []


def test_deleting_an_account_erases_personal_data_and_keeps_content(rich_group, client, outbox):
    bea = rich_group["bea"]
    db.session.add_all([SignInEvent(user_id=bea.id, method="code", ip_address="203.0.113.9"),
                        UserAlias(user_id=bea.id, email="bea.work@example.org", verified_at=utcnow()),
                        RecoveryCode(user_id=bea.id, code_hash="h")])
    bea.totp_secret, bea.totp_enabled_at = "sealed", utcnow()
    db.session.commit()
    sign_in(client, bea)
    wrong = post(client, "/account/delete", {"confirm": "yes please"})
    assert wrong.status_code == 422 and "Type DELETE" in wrong.text
    response = post(client, "/account/delete", {"confirm": "DELETE"})
    assert response.status_code == 303

    mail = outbox.last_to("bea@example.org")
    assert "deleted" in mail.subject and "deleted member" in mail.text
    db.session.expire_all()
    user = db.session.get(User, bea.id)
    assert user.email is None and user.name == "" and user.deleted_at is not None
    assert user.totp_secret is None and user.totp_enabled_at is None
    for model in (UserAlias, SignInEvent, RecoveryCode, Membership):
        assert db.session.scalar(db.select(db.func.count()).select_from(model).where(model.user_id == bea.id)) == 0
    comment = db.session.get(Comment, rich_group["comment"].id)
    assert comment.deleted_at is None and comment.body == "I can fix it on Saturday."
    assert comment.author.display_name == "deleted member"
    # The old session is over.
    assert client.get("/account").status_code in (302, 303)


def test_content_is_removed_too_when_the_member_asks_and_the_group_allows(rich_group, client):
    rich_group["group"].members_can_remove_own_content = True
    db.session.commit()
    sign_in(client, rich_group["bea"])
    assert "Also remove my comments" in client.get("/account/data").text
    post(client, "/account/delete", {"confirm": "delete", "remove_content": "1"})
    db.session.expire_all()
    comment = db.session.get(Comment, rich_group["comment"].id)
    assert comment.deleted_at is not None and comment.body == ""


def test_spent_sign_in_tokens_and_old_sign_in_history_are_deleted(rich_group):
    from datetime import timedelta

    from app.models import LoginToken
    from app.stewardship.retention import purge

    now = utcnow()
    db.session.add_all([
        LoginToken(email="bea@example.org", link_hash="a" * 64, code_hash="b", expires_at=now - timedelta(days=2)),
        LoginToken(email="bea@example.org", link_hash="c" * 64, code_hash="d", expires_at=now + timedelta(minutes=5)),
        SignInEvent(user_id=rich_group["bea"].id, method="code", created_at=now - timedelta(days=200)),
        SignInEvent(user_id=rich_group["bea"].id, method="code", created_at=now - timedelta(days=2)),
    ])
    db.session.commit()
    assert purge() == {"login_tokens": 1, "sign_in_events": 1}
