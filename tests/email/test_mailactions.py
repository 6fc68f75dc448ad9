"""One-click footer links and RFC 8058 unsubscribe: no sign-in, no state change on GET."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Membership, ReadState
from app.services import discussions
from tests.factories import GroupFactory, member
from tests.helpers import post


@pytest.fixture
def bobs_mail(clean_app, outbox):
    group = GroupFactory(handle="garden", name="Garden Club")
    other = GroupFactory(handle="choir", name="Choir")
    ann = member(group, role="admin", name="Ann Lee")
    bob = member(group, name="Bob", email="bob@example.org")
    db.session.add(Membership(group_id=other.id, user_id=bob.id))
    db.session.commit()
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="Bins?")
    return dict(group=group, ann=ann, bob=bob, thread=thread, mail=outbox.last_to("bob@example.org"))


def _volume(user, group):
    db.session.expire_all()
    return db.session.scalar(select(Membership.volume).where(Membership.user_id == user.id, Membership.group_id == group.id))


def _path(mail, action):
    return re.search(rf"http://localhost(/m/{action}/[\w.-]+)", mail.text).group(1)


def test_one_click_unsubscribe_works_without_a_session_and_only_once(bobs_mail, clean_app):
    mail, bob, group = bobs_mail["mail"], bobs_mail["bob"], bobs_mail["group"]
    url = re.search(r"<(http://localhost/m/one-click/[^>]+)>", mail.header("List-Unsubscribe")).group(1)
    client = clean_app.test_client(use_cookies=False)  # no session, no CSRF token: as a mail provider posts
    response = client.post(url.replace("http://localhost", ""), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and b"no more emails from Garden Club" in response.data
    assert _volume(bob, group) == "mute"

    again = client.post(url.replace("http://localhost", ""), data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 410 and b"been used already" in again.data
    assert _volume(bob, group) == "mute"


def test_one_click_unsubscribe_refuses_a_bad_token(bobs_mail, client):
    response = client.post("/m/one-click/not-a-real-token", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400 and b"not valid" in response.data
    tampered = _path(bobs_mail["mail"], "unsubscribe_group").rsplit("/", 1)[1][:-2] + "xx"
    assert client.post(f"/m/one-click/{tampered}").status_code == 400
    assert _volume(bobs_mail["bob"], bobs_mail["group"]) == "all"


def test_footer_links_show_one_button_and_change_nothing_until_it_is_pressed(bobs_mail, client):
    path = _path(bobs_mail["mail"], "digest_group")
    page = client.get(path)
    assert page.status_code == 200 and b"Switch to a digest" in page.data and b"<form method=\"post\"" in page.data
    assert _volume(bobs_mail["bob"], bobs_mail["group"]) == "all"
    assert client.post(path).status_code == 400  # a form post without its CSRF token is refused
    response = post(client, path)
    assert response.status_code == 303
    assert b"as a digest" in client.get(response.location).data
    assert _volume(bobs_mail["bob"], bobs_mail["group"]) == "digest"


def test_muting_a_thread_stops_its_mail_but_not_the_groups(bobs_mail, client, outbox):
    ann, bob, thread, group = (bobs_mail[k] for k in ("ann", "bob", "thread", "group"))
    assert post(client, _path(bobs_mail["mail"], "mute_thread")).status_code == 303
    state = db.session.scalar(select(ReadState).where(ReadState.user_id == bob.id))
    assert state.volume == "mute"
    outbox.clear()
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Anyone?")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Seeds", body="")
    assert [m.subject for m in outbox.to("bob@example.org")] == ["[garden] Seeds"]


def test_unsubscribe_all_mutes_every_group_and_a_reused_link_is_harmless(bobs_mail, client):
    path = _path(bobs_mail["mail"], "unsubscribe_all")
    assert post(client, path).status_code == 303
    db.session.expire_all()
    volumes = db.session.scalars(select(Membership.volume).where(Membership.user_id == bobs_mail["bob"].id)).all()
    assert volumes == ["mute", "mute"]
    again = post(client, path)
    assert again.status_code == 410 and b"nothing changed" in again.data


def test_a_revoked_link_is_refused(bobs_mail, client):
    bobs_mail["bob"].mail_token_generation += 1  # "revoke all my email links"
    db.session.commit()
    response = client.get(_path(bobs_mail["mail"], "unsubscribe_group"))
    assert response.status_code == 400 and b"not valid" in response.data


def test_the_dev_outbox_exists_only_when_debugging(bobs_mail, client, monkeypatch):
    assert client.get("/dev/outbox").status_code == 404
    monkeypatch.setitem(client.application.config, "DEBUG", True)
    page = client.get("/dev/outbox")
    assert page.status_code == 200 and b"bob@example.org" in page.data
