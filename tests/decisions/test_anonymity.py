"""Anonymous polls: after closing, nothing anywhere links a voter to what they chose.

Each voter picks a different option and writes a reason only they wrote; any output (page,
CSV, email, database row) that names a voter and carries their reason or their choice would
be a link. We look everywhere a person or an operator could look.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import Event, OutboundMessage, Participation, Poll, Stance, StanceChoice
from app.services import polls as service
from tests.decisions.support import make_poll, setup_group, vote_for
from tests.helpers import post, sign_in

REASONS = ["zebra-crossing reason", "quokka-smile reason", "narwhal-tusk reason"]


def _vote_all(poll, people, *, by_mail: tuple[int, ...] = ()):
    for i, person in enumerate(people):
        choices, reason = vote_for(poll, i % 2)
        if poll.poll_type in ("proposal", "check", "poll"):
            choices = {poll.options[i].id: 1}
        service.cast_vote(actor_id=person.id, poll_id=poll.id, choices=choices,
                          reason=REASONS[i] if poll.poll_type != "question" else f"{REASONS[i]} answer",
                          **({"source": "email", "inbound_message_id": _stored_mail(person).id} if i in by_mail else {}))


def _stored_mail(person):
    """A stored inbound message from `person` (a vote by reply), as the SMTP server keeps it."""
    from mail.store import accept

    return accept(b"From: " + person.email.encode() + b"\r\nSubject: Re: vote\r\n\r\nagree\r\n",
                  envelope_from=person.email, recipients=["r+p@quorum.test"])


def _without_header(page: str) -> str:
    """The page minus the top bar, which names whoever is signed in."""
    head, _, rest = page.partition('<header class="top">')
    return head + rest.partition("</header>")[2] if rest else page


def _linked(haystack: str, person, secret: str) -> bool:
    return secret in haystack and (person.display_name in haystack or person.email in haystack)


@pytest.mark.parametrize("poll_type", ["proposal", "question", "meeting", "ranked_choice"])
def test_after_closing_no_output_links_a_voter_to_their_choice(client, outbox, poll_type):
    group, admin, people = setup_group(3)
    poll = make_poll(poll_type, admin, group, anonymous=True)
    _vote_all(poll, people, by_mail=(1,))  # Bea votes by reply: her stance names the message she sent
    assert db.session.scalar(select(Stance.inbound_message_id).where(Stance.participant_id == people[1].id))
    # While open, the voter can still see their own vote, and nobody else's.
    sign_in(client, people[0])
    page = client.get(f"/p/{poll.id}").data.decode()
    assert "Your vote" in page and "Who chose what" not in page
    assert people[1].display_name not in page
    # Ann changes her vote: the old one must not survive either.
    choices, _ = vote_for(poll, 1)
    if poll_type == "proposal":
        choices = {poll.options[3].id: 1}
    service.cast_vote(actor_id=people[0].id, poll_id=poll.id, choices=choices,
                      reason="changed-mind reason" if poll_type != "question" else "changed-mind answer")
    secrets = {people[0].id: ["changed-mind", REASONS[0]], people[1].id: [REASONS[1]], people[2].id: [REASONS[2]]}

    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    service.set_outcome(actor_id=admin.id, poll_id=poll.id, statement="Done.",
                        option_id=poll.options[0].id if poll_type == "meeting" else None)

    # Pages, as every member (and the admin) sees them, and the CSV.
    outputs = []
    for viewer in [admin, *people]:
        client.post("/logout")
        sign_in(client, viewer)
        page = _without_header(client.get(f"/p/{poll.id}").data.decode())
        assert "Your vote" not in page  # not even your own vote is findable after closing
        outputs.append(("page", page))
        csv_text = client.get(f"/p/{poll.id}/results.csv").data.decode()
        outputs.append(("csv", csv_text))
        fragment = client.get(f"/p/{poll.id}", headers={"HX-Request": "true"}).data.decode()
        outputs.append(("fragment", fragment))
    # What was emailed (every event went through fan-out and the outbox).
    assert any(poll.title in m.subject or poll.title in m.text for m in outbox.messages())
    for mail in outbox.messages():
        outputs.append(("mail", mail.raw.decode("utf-8", "replace") + mail.text + mail.html))
    for row in db.session.scalars(select(OutboundMessage)):
        outputs.append(("outbound row", (row.raw or b"").decode("utf-8", "replace")))
    for where, haystack in outputs:
        for person in people:
            for secret in secrets[person.id]:
                assert not _linked(haystack, person, secret), f"{where} links {person.display_name} to their vote"
        for person in people[1:]:  # voters' names appear nowhere a result is shown
            assert f"<td>{person.display_name}</td>" not in haystack

    # Database rows: stances carry no voter, no time and no inbound mail (which names its sender);
    # nothing else points at a stance.
    stances = list(db.session.scalars(select(Stance).where(Stance.poll_id == poll.id)))
    assert len(stances) == 3 and all(s.participant_id is None and s.created_at is None
                                     and s.inbound_message_id is None for s in stances), [
        (s.id, s.participant_id, s.created_at, s.inbound_message_id) for s in stances]
    assert all(s.latest for s in stances)  # superseded votes are gone, not merely unlinked
    # The emailed vote itself (raw mail names its sender) is deleted at closing, file and row.
    from app.models import InboundMessage

    assert db.session.scalar(select(func.count(InboundMessage.id))) == 0
    inbound_files = Path(current_app.config["QUORUM_INSTANCE"]) / "files" / "inbound"
    assert not inbound_files.exists() or not any(inbound_files.iterdir())
    assert {p.user_id for p in db.session.scalars(select(Participation))} == {p.id for p in people}
    for event in db.session.scalars(select(Event).where(Event.kind == "stance_created")):
        assert event.actor_id is None and set(event.data) <= {"anonymous"}
    for event in db.session.scalars(select(Event)):
        blob = json.dumps(event.data)
        assert "stance" not in blob and not any(s in blob for ss in secrets.values() for s in ss)
    # No column anywhere in the stance tables refers to a user.
    for table in ("stances", "stance_choices"):
        for row in db.session.execute(text(f"SELECT * FROM {table}")).mappings():
            for column, value in row.items():
                if column.endswith(("participant_id", "user_id", "author_id", "actor_id", "inbound_message_id")):
                    assert value is None
    assert db.session.scalar(select(StanceChoice.id).join(Stance).where(Stance.participant_id.is_not(None))) is None


def test_anonymous_results_are_counts_and_reasons_without_names(client):
    group, admin, people = setup_group(3)
    poll = make_poll("check", admin, group, anonymous=True)
    _vote_all(poll, people)
    sign_in(client, admin)
    # While it is open, nothing moves as people vote: no tally, no reasons, no list of who is left
    # (watching a name leave that list while the tally moves would tell who chose what).
    page = client.get(f"/p/{poll.id}").data.decode()
    assert "Anonymous" in page and "counted when it closes" in page
    assert not any(r in page for r in REASONS) and "Not voted yet" not in page
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    page = client.get(f"/p/{poll.id}").data.decode()
    assert "Who chose what" not in page
    assert all(r in page for r in REASONS)  # the reasons, but in no order that follows the voters
    csv_text = client.get(f"/p/{poll.id}/results.csv").data.decode()
    assert "voter" not in csv_text.splitlines()[7] and not any(p.display_name in csv_text for p in people)


def test_anonymous_poll_reopen_form_is_not_offered(client):
    group, admin, _ = setup_group()
    poll = make_poll("proposal", admin, group, anonymous=True)
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    sign_in(client, admin)
    assert b"Reopen the poll" not in client.get(f"/p/{poll.id}").data
    response = post(client, f"/p/{poll.id}/reopen", {"closing_at": "2099-01-01T10:00"})
    assert response.status_code == 403 and db.session.get(Poll, poll.id).closed_at is not None
