"""Review findings 4 and 5: an anonymous poll links no choice to a person (pages while it is open,
mail, stored copies of emailed votes, exports taken while it is open); hidden results stay hidden
in the export's events."""
from __future__ import annotations

from sqlalchemy import select

from app.email import messages
from app.extensions import db
from app.models import InboundMessage, OutboundMessage, Participation
from app.services import polls as service
from app.stewardship.export import collect
from tests.decisions.support import make_poll, setup_group
from tests.helpers import sign_in


def _stored(person, message_id="<vote-1@example.org>"):
    from mail.store import accept

    raw = (f"From: {person.email}\r\nMessage-ID: {message_id}\r\nSubject: Re: vote\r\n\r\nagree\r\n").encode()
    return accept(raw, envelope_from=person.email, recipients=["r+p@quorum.test"])


def _vote(poll, person, index, reason, **extra):
    service.cast_vote(actor_id=person.id, poll_id=poll.id, choices={poll.options[index].id: 1}, reason=reason, **extra)


def test_while_open_an_anonymous_poll_shows_no_tally_reasons_or_undecided_list(client):
    group, admin, people = setup_group(3)
    poll = make_poll("proposal", admin, group, anonymous=True)
    sign_in(client, admin)  # the author and an admin: who would see most
    _vote(poll, people[0], 2, "walrus reason")
    after = client.get(f"/p/{poll.id}").text
    assert "walrus reason" not in after and "Not voted yet" not in after
    assert "counted when it closes" in after
    view = service.results_for(admin, poll)
    assert view.results is None and view.non_voters == [] and view.anonymous_reasons == []


def test_the_confirmation_of_an_anonymous_vote_does_not_repeat_it(clean_app):
    group, admin, people = setup_group(1)
    poll = make_poll("proposal", admin, group, anonymous=True)
    row = messages.vote_recorded(to=people[0].email, user=people[0], dedupe_key="vote-confirm-1", context={
        "poll": poll, "recorded": True, "changed": False, "choice": "Disagree", "reason": "my okapi reason",
        "anonymous": True, "poll_url": "http://localhost/p/1", "notes": []})
    db.session.commit()
    stored = db.session.get(OutboundMessage, row.id)
    text = repr(stored.__dict__)
    assert "Disagree" not in text and "okapi" not in text


def test_closing_scrubs_every_stored_copy_of_an_emailed_anonymous_vote(clean_app):
    group, admin, people = setup_group(2)
    poll = make_poll("proposal", admin, group, anonymous=True)
    first = _stored(people[0])
    copy = _stored(people[0])
    copy.duplicate_of_id, copy.status = first.id, "discarded"
    db.session.commit()
    _vote(poll, people[0], 1, "by mail", source="email", inbound_message_id=first.id)
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    assert db.session.scalars(select(InboundMessage.id)).all() == []


def test_an_export_of_an_open_anonymous_poll_has_no_order_time_source_or_event(clean_app):
    group, admin, people = setup_group(3)
    named = make_poll("proposal", admin, group)
    _vote(named, people[0], 0, "named vote")
    poll = make_poll("proposal", admin, group, anonymous=True)
    for i, person in enumerate(people):
        _vote(poll, person, i, f"reason {i}", **({"source": "email"} if i == 1 else {}))
    _vote(poll, people[2], 3, "changed my mind")  # a history that would show who changed
    tables = collect(group, actor_id=admin.id)["tables"]
    stances = [s for s in tables["stances"] if s["poll_id"] == poll.id]
    assert len(stances) == 3 and all(s["latest"] for s in stances)
    assert all(s["participant_id"] is None and s["created_at"] is None and s["source"] == "web" for s in stances)
    named_ids = [s["id"] for s in tables["stances"] if s["poll_id"] == named.id]
    assert min(s["id"] for s in stances) > max(named_ids), "renumbered after every other stance"
    assert not [e for e in tables["events"] if e["poll_id"] == poll.id and e["kind"] == "stance_created"]
    assert all(p["id"] is None for p in tables["participations"] if p["poll_id"] == poll.id)
    ids = {s["id"] for s in stances}
    assert {c["stance_id"] for c in tables["stance_choices"] if c["stance_id"] in ids} == ids


def test_hidden_results_do_not_leak_through_the_exported_events(clean_app):
    group, admin, people = setup_group(2)
    poll = make_poll("proposal", admin, group, hide_results="until_closed")
    _vote(poll, people[0], 3, "blocking reason")
    assert db.session.scalar(select(Participation.id).where(Participation.poll_id == poll.id))
    tables = collect(group, actor_id=admin.id)["tables"]
    events = [e for e in tables["events"] if e["poll_id"] == poll.id and e["kind"] == "stance_created"]
    assert events and all("choice" not in (e["data"] or {}) for e in events)
    assert "Block" not in repr(events) and "blocking reason" not in repr(tables)
