"""Drafts: a poll saved without opening voting is seen by its author and the group's admins only,
takes no votes (web or mail), sends no mail and is not closed by the scheduler, until it is opened."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, Poll, utcnow
from app.services import polls as service
from app.services.errors import NotAllowed, NotFound
from tests.decisions.support import make_poll, setup_group
from tests.factories import DiscussionFactory, UserFactory
from tests.helpers import post, sign_in


def local(dt, zone="UTC"):
    return dt.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def fresh(poll: Poll) -> Poll:
    db.session.expire_all()
    return db.session.get(Poll, poll.id)


@pytest.fixture
def drafted(clean_app, outbox):
    group, admin, (author, voter) = setup_group(2, handle="paint", privacy="open")
    thread = DiscussionFactory(group=group, author=author, title="Painting")
    poll = make_poll("poll", author, group, title="Door colour", discussion_id=thread.id, group_id=None, draft=True)
    return dict(group=group, admin=admin, author=author, voter=voter, thread=thread, poll=poll)


def test_a_draft_is_saved_from_the_form_and_nobody_is_emailed(client, clean_app, outbox):
    group, admin, (ann,) = setup_group(1, handle="club")
    sign_in(client, admin)
    response = post(client, "/g/club/p/new", {
        "poll_type": "poll", "title": "Picnic spot", "options": "Park\nBeach", "closing_at": local(utcnow() + timedelta(days=2)),
        "hide_results": "off", "voter_scope": "group", "reason_mode": "optional", "reason_max_length": "500",
        "draft": "1"})
    assert response.status_code == 303
    poll = db.session.scalar(select(Poll))
    assert poll.draft and not poll.is_open
    assert "This poll is a draft" in client.get(response.location).get_data(as_text=True)
    assert outbox.to(ann.email) == []
    assert db.session.scalar(select(Event.id).where(Event.kind == "poll_created")) is None


@pytest.mark.parametrize("who", ["voter", "stranger", "signed_out"])
def test_a_draft_is_invisible_to_everyone_but_its_author_and_admins(client, drafted, who):
    poll = drafted["poll"]
    if who == "voter":
        sign_in(client, drafted["voter"])
    elif who == "stranger":
        sign_in(client, UserFactory())
    assert client.get(f"/p/{poll.id}").status_code in (302, 404)  # signed out: asked to sign in, told nothing
    assert "Door colour" not in client.get(f"/d/{drafted['thread'].id}").get_data(as_text=True)
    assert "Door colour" not in client.get("/g/paint").get_data(as_text=True)
    for url in (f"/p/{poll.id}/vote", f"/p/{poll.id}/open", f"/p/{poll.id}/edit"):
        assert post(client, url, {"option": str(poll.options[0].id)}).status_code in (302, 303, 403, 404)
    assert fresh(poll).draft


@pytest.mark.parametrize("who", ["author", "admin"])
def test_the_author_and_admins_see_the_draft_and_its_badge(client, drafted, who):
    sign_in(client, drafted[who])
    assert client.get(f"/p/{drafted['poll'].id}").status_code == 200
    assert "Draft" in client.get(f"/d/{drafted['thread'].id}").get_data(as_text=True)


def test_a_draft_takes_no_votes_even_from_its_author(drafted):
    with pytest.raises(NotAllowed, match="draft"):
        service.cast_vote(actor_id=drafted["author"].id, poll_id=drafted["poll"].id,
                          choices={drafted["poll"].options[0].id: 1})
    with pytest.raises(NotFound):
        service.cast_vote(actor_id=drafted["voter"].id, poll_id=drafted["poll"].id,
                          choices={drafted["poll"].options[0].id: 1})


def test_a_draft_cannot_be_closed_or_reminded(drafted):
    with pytest.raises(NotAllowed):
        service.close_poll(actor_id=drafted["author"].id, poll_id=drafted["poll"].id)
    with pytest.raises(NotAllowed):
        service.remind(actor_id=drafted["author"].id, poll_id=drafted["poll"].id)


def test_the_scheduler_leaves_a_draft_alone(drafted):
    service.close_due_polls(now=utcnow() + timedelta(days=30))
    assert service.send_closing_soon(now=drafted["poll"].closing_at - timedelta(hours=2)) == 0
    assert fresh(drafted["poll"]).closed_at is None and fresh(drafted["poll"]).draft


def test_opening_a_draft_mails_the_group_and_takes_votes(client, drafted, outbox):
    poll = drafted["poll"]
    sign_in(client, drafted["author"])
    response = post(client, f"/p/{poll.id}/open", {})
    assert response.status_code == 303
    poll = fresh(poll)
    assert not poll.draft and poll.is_open
    assert "Door colour" in outbox.last_to(drafted["voter"].email).text
    service.cast_vote(actor_id=drafted["voter"].id, poll_id=poll.id, choices={poll.options[0].id: 1})


def test_a_draft_whose_closing_time_passed_needs_a_new_one(client, drafted):
    poll = drafted["poll"]
    poll.closing_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    sign_in(client, drafted["author"])
    response = post(client, f"/p/{poll.id}/open", {})
    assert response.status_code == 422 and "must be in the future" in response.get_data(as_text=True)
    assert fresh(poll).draft
    later = utcnow() + timedelta(days=4)
    assert post(client, f"/p/{poll.id}/open", {"closing_at": local(later)}).status_code == 303
    assert local(fresh(poll).closing_at) == local(later)


def test_a_member_cannot_open_someone_elses_draft(drafted):
    with pytest.raises(NotFound):
        service.open_poll(actor_id=drafted["voter"].id, poll_id=drafted["poll"].id)
    assert fresh(drafted["poll"]).draft


def test_a_reply_to_a_draft_does_nothing(drafted):
    from app.email.addresses import reply_address
    from mail.pipeline import process
    from tests.email_actions.conftest import message

    to = reply_address(drafted["voter"], "poll", drafted["poll"].id)
    voter = drafted["voter"].email
    outcome = process(message(sender=voter, to=to, body="1"), envelope_from=voter, recipients=[to])
    assert outcome.status == "rejected"
    assert db.session.scalar(select(Event.id).where(Event.kind == "stance_created")) is None


def test_the_dashboard_does_not_list_a_draft(client, drafted):
    sign_in(client, drafted["voter"])
    assert "Door colour" not in client.get("/").get_data(as_text=True)
