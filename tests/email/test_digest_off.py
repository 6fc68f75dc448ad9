"""The digest_off link action: signed per member, its one-button page, and RFC 8058 one-click."""
from __future__ import annotations

from sqlalchemy import select

from app.email import links
from app.extensions import db
from app.models import Membership, User
from tests.factories import GroupFactory, member
from tests.helpers import post


def _bob(**settings):
    group = GroupFactory(handle="garden", name="Garden Club")
    bob = member(group, name="Bob", email="bob@example.org")
    for name, value in settings.items():
        setattr(bob, name, value)
    db.session.commit()
    return group, bob


def test_digest_off_tokens_verify_for_their_action_only(clean_app):
    _, bob = _bob(digest_frequency="weekly")
    token = links.make("digest_off", bob)
    assert links.verify(token, "digest_off") == {"user_id": bob.id, "generation": bob.mail_token_generation or 0}
    assert links.verify(token, "unsubscribe_group") is None
    assert links.verify(links.make("unsubscribe_all", bob), "digest_off") is None
    assert links.url("digest_off", token) == f"http://localhost/m/digest_off/{token}"
    assert links.one_click_url(token, "digest_off") == f"http://localhost/m/one-click/digest_off/{token}"
    bob.mail_token_generation = (bob.mail_token_generation or 0) + 1  # "revoke all my email links"
    db.session.commit()
    assert links.verify(token, "digest_off") is None


def test_digest_off_page_then_post_switches_digests_off_and_leaves_group_mail_alone(clean_app, client):
    group, bob = _bob(digest_frequency="weekly")
    path = f"/m/digest_off/{links.make('digest_off', bob)}"
    page = client.get(path).data.decode()
    assert "Press the button to stop your digest emails." in page and "Stop digests</button>" in page
    assert db.session.get(User, bob.id).digest_frequency == "weekly"
    assert post(client, path).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, bob.id).digest_frequency == "off"
    # Garden's every-message mail is not a digest: it keeps coming.
    assert db.session.scalar(select(Membership.volume).where(Membership.user_id == bob.id)) == "all"
    assert "already done" in client.get(path).data.decode()


def test_one_click_digest_off_needs_no_session_and_is_refused_when_done_or_forged(clean_app):
    _, bob = _bob(digest_frequency="daily")
    client = clean_app.test_client(use_cookies=False)
    token = links.make("digest_off", bob)
    assert client.get(f"/m/one-click/digest_off/{token}").status_code == 303  # GET only shows the button page
    assert db.session.get(User, bob.id).digest_frequency == "daily"
    assert client.post(f"/m/one-click/digest_off/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    db.session.expire_all()
    assert db.session.get(User, bob.id).digest_frequency == "off"
    assert client.post(f"/m/one-click/digest_off/{token}").status_code == 410
    assert client.post(f"/m/one-click/digest_off/{token[:-2]}xx").status_code == 400
    assert client.post(f"/m/one-click/mute_thread/{token}").status_code == 404  # one-click is for leaving only
