"""The decisions service, for every one of the nine poll types: create, vote, change, close, reopen, outcome."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, Outcome, Participation, Poll, PollVoter, Stance, User, utcnow
from app.services import polls as service
from app.services.errors import Invalid, NotAllowed, NotFound
from tests.decisions.support import NINE, make_poll, setup_group, vote_for
from tests.factories import DiscussionFactory, UserFactory


def kinds(poll_id):
    return [e.kind for e in db.session.scalars(select(Event).where(Event.poll_id == poll_id).order_by(Event.id))]


@pytest.mark.parametrize("poll_type", NINE)
def test_every_type_can_be_created_voted_changed_closed_reopened_and_given_an_outcome(clean_app, poll_type):
    group, admin, (ann, ben, cat) = setup_group()
    poll = make_poll(poll_type, admin, group)
    assert poll.is_open and poll.poll_type == poll_type

    choices, reason = vote_for(poll, 0)
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices=choices, reason=reason)
    other, other_reason = vote_for(poll, 1)
    service.cast_vote(actor_id=ben.id, poll_id=poll.id, choices=other, reason=other_reason)
    # Ann changes her mind: the old stance stays as history, not as her current vote.
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices=other, reason=other_reason)
    current = service.current_stance(ann.id, poll.id)
    assert current.choices == other or poll_type == "question"
    history = service.vote_history(ann.id, poll.id)
    assert len(history) == 1 and history[0].latest is False

    view = service.results_for(admin, poll)
    assert view.visible and view.voter_count == 2
    assert view.results.voter_count == 2  # the superseded vote is not counted
    assert {u.id for u in view.non_voters} == {admin.id, cat.id} and view.undecided_count == 2
    assert {v.name for v in view.voters} == {"Voter A", "Voter B"}

    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    with pytest.raises(NotAllowed, match="closed"):
        service.cast_vote(actor_id=cat.id, poll_id=poll.id, choices=choices, reason=reason)
    option_id = poll.options[0].id if poll_type == "meeting" else None
    outcome = service.set_outcome(actor_id=admin.id, poll_id=poll.id, statement="We go ahead.", option_id=option_id)
    assert outcome.latest and service.latest_outcome(poll.id).statement == "We go ahead."

    service.reopen_poll(actor_id=admin.id, poll_id=poll.id, closing_at=utcnow() + timedelta(days=1))
    service.cast_vote(actor_id=cat.id, poll_id=poll.id, choices=choices, reason=reason)
    assert service.results_for(admin, db.session.get(Poll, poll.id)).voter_count == 3
    cancelled = ["meeting_cancelled"] if poll_type == "meeting" else []  # its calendar invitation is withdrawn
    assert kinds(poll.id) == ["poll_created", "stance_created", "stance_created", "stance_created", "poll_closed",
                              "outcome_created", "poll_reopened", *cancelled, "stance_created"]
    csv_text = service.csv_export(admin, db.session.get(Poll, poll.id))
    assert "Voter A" in csv_text and "Voter C" in csv_text


def test_results_are_correct_for_a_proposal_with_a_block(clean_app):
    group, admin, people = setup_group(4)
    poll = make_poll("proposal", admin, group)
    agree, abstain, disagree, block = [o.id for o in poll.options]
    for person, option in zip(people, [agree, agree, disagree, block]):
        service.cast_vote(actor_id=person.id, poll_id=poll.id, choices={option: 1})
    results = service.results_for(admin, poll).results
    assert [(r.name, r.voter_count, round(r.percent)) for r in results.options] == [
        ("Agree", 2, 50), ("Abstain", 0, 0), ("Disagree", 1, 25), ("Block", 1, 25)]
    assert results.blocked


def test_a_vote_can_be_read_from_reply_text(clean_app):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("proposal", admin, group)
    stance = service.cast_vote(actor_id=ann.id, poll_id=poll.id, text="disagree: too costly", source="email")
    assert stance.reason == "too costly" and stance.source == "email"
    assert poll.options[2].id in stance.choices


@pytest.mark.parametrize("poll_type, bad, message", [
    ("proposal", "nothing", "exactly one"),
    ("dot_vote", "too_many", "dots"),
    ("score", "out_of_range", "scores go from"),
    ("question", "nothing", "write an answer"),
    ("ranked_choice", "duplicate", "rank each option once"),
])
def test_invalid_votes_are_refused_with_a_reason_and_change_nothing(clean_app, poll_type, bad, message):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll(poll_type, admin, group)
    ids = [o.id for o in poll.options] + [0, 0, 0]
    bad = {"too_many": {ids[0]: 9}, "out_of_range": {ids[0]: 10, ids[1]: 0, ids[2]: 0},
           "duplicate": {ids[0]: 3, ids[1]: 3}, "nothing": {}}[bad]
    with pytest.raises(Invalid, match=message):
        service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices=bad)
    assert db.session.scalar(select(Stance.id)) is None and db.session.scalar(select(Participation.id)) is None


def test_reasons_required_and_capped(clean_app):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("check", admin, group, reason_mode="required", reason_max_length=10)
    looks_good = poll.options[0].id
    with pytest.raises(Invalid, match="reason"):
        service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={looks_good: 1})
    with pytest.raises(Invalid, match="at most 10"):
        service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={looks_good: 1}, reason="x" * 11)
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={looks_good: 1}, reason="fine")
    off = make_poll("check", admin, group, reason_mode="off")
    with pytest.raises(Invalid, match="doesn't take reasons"):
        service.cast_vote(actor_id=ann.id, poll_id=off.id, choices={off.options[0].id: 1}, reason="hello")


def test_creation_refuses_bad_settings(clean_app):
    group, admin, (ann, *_) = setup_group()
    with pytest.raises(Invalid, match="future"):
        make_poll("proposal", admin, group, closing_at=utcnow() - timedelta(hours=1))
    with pytest.raises(Invalid, match="at least 2"):
        make_poll("poll", admin, group, options=["Only one"])
    with pytest.raises(Invalid, match="time slot"):
        make_poll("meeting", admin, group, slots=[])
    with pytest.raises(Invalid, match="maximum score"):
        make_poll("score", admin, group, min_score=5, max_score=2)
    with pytest.raises(Invalid, match="title"):
        make_poll("proposal", admin, group, title="  ")
    assert db.session.scalar(select(Poll.id)) is None


def test_outsiders_cannot_create_vote_or_administer(clean_app):
    group, admin, (ann, *_) = setup_group()
    stranger = UserFactory()
    with pytest.raises(NotAllowed, match="Only members"):
        make_poll("proposal", stranger, group)
    poll = make_poll("proposal", admin, group)
    with pytest.raises(NotFound):
        service.cast_vote(actor_id=stranger.id, poll_id=poll.id, choices={poll.options[0].id: 1})
    for action in (service.close_poll, service.delete_poll):
        with pytest.raises(NotAllowed):
            action(actor_id=ann.id, poll_id=poll.id)
    with pytest.raises(NotAllowed):
        service.remind(actor_id=ann.id, poll_id=poll.id, message="vote!")


def test_members_who_join_later_may_vote_in_a_whole_group_poll(clean_app):
    from tests.factories import member

    group, admin, _ = setup_group(1)
    poll = make_poll("count", admin, group)
    late = member(group, name="Late Comer")
    service.cast_vote(actor_id=late.id, poll_id=poll.id, choices={poll.options[0].id: 1})
    assert service.results_for(admin, poll).results.options[0].voter_count == 1


def test_named_voters_include_guests_invited_by_email(clean_app):
    group, admin, (ann, ben, _) = setup_group()
    poll = make_poll("proposal", admin, group, voter_scope="specified", voters=[ann.email, "Guest@Example.net"])
    guest = db.session.scalar(select(User).where(User.email == "guest@example.net"))
    assert guest is not None and guest.email_verified_at is None
    assert {v.email for v in db.session.scalars(select(PollVoter))} == {ann.email, "guest@example.net"}
    service.cast_vote(actor_id=guest.id, poll_id=poll.id, choices={poll.options[0].id: 1}, source="link")
    with pytest.raises(NotAllowed, match="not one of the people"):
        service.cast_vote(actor_id=ben.id, poll_id=poll.id, choices={poll.options[0].id: 1})
    event = db.session.scalar(select(Event).where(Event.kind == "poll_created"))
    assert event.data["guest_voter_ids"] == [guest.id]
    assert service.results_for(admin, poll).electorate_count == 2


def test_hidden_results_stay_hidden_until_the_condition_is_met(clean_app):
    group, admin, (ann, ben, _) = setup_group()
    until_vote = make_poll("poll", admin, group, hide_results="until_vote")
    service.cast_vote(actor_id=ann.id, poll_id=until_vote.id, choices={until_vote.options[0].id: 1})
    assert not service.results_for(ben, until_vote).visible
    with pytest.raises(NotAllowed, match="until you vote"):
        service.csv_export(ben, until_vote)
    assert service.results_for(ann, until_vote).visible

    until_closed = make_poll("score", admin, group, hide_results="until_closed")
    choices, _ = vote_for(until_closed)
    service.cast_vote(actor_id=ann.id, poll_id=until_closed.id, choices=choices)
    for person in (ann, admin):
        view = service.results_for(person, until_closed)
        assert not view.visible and view.results is None and view.voters == []
    service.close_poll(actor_id=admin.id, poll_id=until_closed.id)
    assert service.results_for(ben, until_closed).visible


def test_remind_records_who_has_not_voted_with_the_message(clean_app):
    group, admin, (ann, ben, cat) = setup_group()
    poll = make_poll("check", admin, group)
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={poll.options[0].id: 1})
    assert service.remind(actor_id=admin.id, poll_id=poll.id, message="Please vote by Friday") == 3
    event = db.session.scalar(select(Event).where(Event.kind == "poll_reminder"))
    assert event.data["message"] == "Please vote by Friday"
    assert sorted(event.data["recipient_ids"]) == sorted([admin.id, ben.id, cat.id])


def test_anonymous_polls_cannot_be_reopened(clean_app):
    group, admin, _ = setup_group()
    poll = make_poll("proposal", admin, group, anonymous=True)
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    with pytest.raises(NotAllowed, match="Anonymous"):
        service.reopen_poll(actor_id=admin.id, poll_id=poll.id, closing_at=utcnow() + timedelta(days=1))


def test_outcomes_only_after_closing_and_meeting_outcomes_need_a_slot(clean_app):
    group, admin, _ = setup_group()
    poll = make_poll("meeting", admin, group)
    with pytest.raises(NotAllowed, match="closed"):
        service.set_outcome(actor_id=admin.id, poll_id=poll.id, statement="x", option_id=poll.options[0].id)
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    with pytest.raises(Invalid, match="time slot"):
        service.set_outcome(actor_id=admin.id, poll_id=poll.id, statement="We meet")
    service.set_outcome(actor_id=admin.id, poll_id=poll.id, statement="First", option_id=poll.options[0].id)
    second = service.set_outcome(actor_id=admin.id, poll_id=poll.id, statement="Second", option_id=poll.options[1].id)
    assert [o.latest for o in db.session.scalars(select(Outcome).order_by(Outcome.id))] == [False, True]
    ics = service.outcome_ics(poll, second)
    assert "BEGIN:VEVENT" in ics and "DTSTART:20310506T170000Z" in ics and "DTEND:20310506T180000Z" in ics
    event = db.session.scalars(select(Event).where(Event.kind == "outcome_created").order_by(Event.id)).all()[-1]
    assert event.data["starts_at"].startswith("2031-05-06T17:00") and event.data["ics_path"] == f"/p/{poll.id}/outcome.ics"


def test_a_poll_in_a_thread_belongs_to_it_and_its_events_carry_the_thread(clean_app):
    group, admin, (ann, *_) = setup_group()
    thread = DiscussionFactory(group=group, author=admin)
    poll = service.create_poll(actor_id=ann.id, discussion_id=thread.id, poll_type="check", title="OK?",
                               closing_at=utcnow() + timedelta(days=1))
    assert poll.group_id == group.id and poll.discussion_id == thread.id
    assert [p.id for p in service.polls_for_thread(thread.id)] == [poll.id]
    assert db.session.scalar(select(Event.discussion_id).where(Event.kind == "poll_created")) == thread.id


def test_delete_is_soft_and_hides_the_poll(clean_app):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("proposal", admin, group)
    service.delete_poll(actor_id=admin.id, poll_id=poll.id)
    assert db.session.get(Poll, poll.id).deleted_at is not None
    with pytest.raises(NotFound):
        service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={poll.options[0].id: 1})
    assert "poll_deleted" in kinds(poll.id)
