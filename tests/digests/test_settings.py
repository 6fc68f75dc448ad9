"""The email settings page (works without JavaScript) and `quorum digest run`."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Membership
from tests.factories import GroupFactory, MembershipFactory
from tests.helpers import post, sign_in

from .conftest import digests_to


def test_a_member_chooses_a_weekly_digest_and_puts_one_group_in_it(client, scene):
    other = GroupFactory(name="Choir")
    MembershipFactory(group=other, user=scene.alice)
    sign_in(client, scene.alice)
    page = client.get("/account/email")
    assert page.status_code == 200 and b"Garden" in page.data and b"Choir" in page.data
    response = post(client, "/account/email", {
        "frequency": "weekly", "weekday": "4", "hour": "18",
        f"volume-{scene.group.id}": "mute", f"volume-{other.id}": "digest",
    })
    assert response.status_code == 303 and response.headers["Location"].endswith("/account/email")
    db.session.expire_all()
    assert (scene.alice.digest_frequency, scene.alice.digest_weekday, scene.alice.digest_hour) == ("weekly", 4, 18)
    volumes = dict(db.session.execute(select(Membership.group_id, Membership.volume)
                                      .where(Membership.user_id == scene.alice.id)).all())
    assert volumes == {scene.group.id: "mute", other.id: "digest"}
    assert b"Your email settings are saved." in client.get("/account/email").data


def test_a_bad_choice_is_refused_with_a_message_and_nothing_changes(client, scene):
    sign_in(client, scene.alice)
    response = post(client, "/account/email", {"frequency": "hourly", "weekday": "0", "hour": "7"})
    assert response.status_code == 422 and b"Choose no digest, daily or weekly." in response.data
    db.session.expire_all()
    assert scene.alice.digest_frequency == "daily"


def test_a_member_cannot_set_the_volume_of_a_group_they_are_not_in(client, scene):
    secret = GroupFactory(privacy="secret")
    MembershipFactory(group=secret, user=scene.bob, volume="all")
    sign_in(client, scene.alice)
    post(client, "/account/email", {"frequency": "daily", "weekday": "0", "hour": "7", f"volume-{secret.id}": "mute"})
    db.session.expire_all()
    assert db.session.scalar(select(Membership.volume).where(Membership.group_id == secret.id)) == "all"


def test_the_settings_page_needs_a_signed_in_member(client):
    assert client.get("/account/email").status_code in (302, 303)


def test_digest_run_now_sends_once_and_can_target_one_member(runner, scene, outbox):
    from datetime import timedelta

    from app.models import Event, utcnow

    scene.thread(title="CLI news")
    # Let the event settle as if written a few minutes ago (the clock is not faked in the CLI).
    for event in db.session.scalars(select(Event)):
        event.created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    result = runner.invoke(args=["digest", "run", "--now", "--member", "bob@example.org"])
    assert result.exit_code == 0 and "sent: 0" in result.output  # Bob has no digest
    result = runner.invoke(args=["digest", "run", "--now"])
    assert result.exit_code == 0, result.output
    assert "sent: 1" in result.output
    assert runner.invoke(args=["digest", "run", "--now"]).output.count("sent: 0") == 1
    assert len(digests_to(outbox, scene.alice)) == 1
    unknown = runner.invoke(args=["digest", "run", "--member", "nobody@example.org"])
    assert unknown.exit_code != 0 and "no member" in unknown.output
