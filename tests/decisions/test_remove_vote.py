"""Taking one's own vote back while the poll is open, on the web (JS off) and by reply: it no
longer counts, the voter is undecided again, the history keeps it; nobody can remove another's."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import policy
from app.extensions import db
from app.models import Participation, Stance
from app.polls.base import ordered_options
from app.services import polls as service
from app.services.errors import Invalid, NotAllowed
from tests.decisions.support import make_poll, setup_group
from tests.factories import UserFactory
from tests.helpers import post, sign_in


@pytest.fixture
def voted(clean_app, outbox):
    group, admin, (ann, ben) = setup_group(2, handle="paint")
    poll = make_poll("poll", admin, group, title="Door colour")
    red = ordered_options(poll)[0]
    for person in (ann, ben):
        service.cast_vote(actor_id=person.id, poll_id=poll.id, choices={red.id: 1})
    return dict(group=group, admin=admin, ann=ann, ben=ben, poll=poll, red=red)


def latest_votes(poll) -> int:
    db.session.expire_all()
    return len(db.session.scalars(select(Stance).where(Stance.poll_id == poll.id, Stance.latest.is_(True))).all())


def test_a_voter_removes_their_vote_on_the_web(client, voted):
    poll = voted["poll"]
    sign_in(client, voted["ann"])
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert f'action="/p/{poll.id}/unvote"' in page
    response = post(client, f"/p/{poll.id}/unvote")
    assert response.status_code == 303
    assert latest_votes(poll) == 1
    assert not policy.has_voted(voted["ann"], poll)
    assert db.session.scalar(select(Stance).where(Stance.participant_id == voted["ann"].id)).latest is False
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert "Your vote is removed" in page and 'action="/p/%d/vote"' % poll.id in page


def test_removing_a_vote_one_does_not_have_is_a_form_error(client, voted):
    sign_in(client, voted["admin"])
    response = post(client, f"/p/{voted['poll'].id}/unvote")
    assert response.status_code == 422 and "no vote to remove" in response.get_data(as_text=True)


def test_no_vote_can_be_removed_once_the_poll_closed(voted):
    service.close_poll(actor_id=voted["admin"].id, poll_id=voted["poll"].id)
    with pytest.raises(NotAllowed):
        service.remove_vote(actor_id=voted["ann"].id, poll_id=voted["poll"].id)
    assert latest_votes(voted["poll"]) == 2


@pytest.mark.parametrize("who", ["admin", "stranger", "signed_out"])
def test_nobody_removes_someone_elses_vote(client, voted, who):
    if who == "admin":
        sign_in(client, voted["admin"])
    elif who == "stranger":
        sign_in(client, UserFactory())
    assert post(client, f"/p/{voted['poll'].id}/unvote").status_code in (302, 303, 403, 404, 422)
    assert latest_votes(voted["poll"]) == 2


def test_removing_a_vote_needs_csrf(client, voted):
    sign_in(client, voted["ann"])
    assert client.post(f"/p/{voted['poll'].id}/unvote").status_code in (400, 403)
    assert latest_votes(voted["poll"]) == 2


def test_an_anonymous_vote_removed_names_nobody_in_the_log(clean_app):
    from app.models import Event

    group, admin, (ann,) = setup_group(1, handle="hush")
    poll = make_poll("proposal", admin, group, anonymous=True)
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={ordered_options(poll)[0].id: 1})
    service.remove_vote(actor_id=ann.id, poll_id=poll.id)
    event = db.session.scalar(select(Event).where(Event.kind == "stance_removed"))
    assert event.actor_id is None
    assert db.session.scalar(select(Participation.id).where(Participation.user_id == ann.id)) is None
    with pytest.raises(Invalid):
        service.remove_vote(actor_id=ann.id, poll_id=poll.id)
