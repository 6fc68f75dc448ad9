"""A poll's results through the API follow the poll page's rules: hidden until you vote or until it
closes, and an anonymous poll counted only at closing, never saying who chose what."""
from __future__ import annotations

from tests.api.conftest import later
from tests.factories import GroupFactory, member


def _setup(api_as, **settings):
    group = GroupFactory(handle="club")
    admin, bea, cy = member(group, role="admin"), member(group, name="Bea"), member(group, name="Cy")
    made = api_as(admin).post("/groups/club/polls", {"poll_type": "proposal", "title": "Agree?",
                                                     "closing_at": later(), **settings})
    assert made.status_code == 201, made.json
    return admin, bea, cy, made.json["id"]


def test_results_hidden_until_you_vote(api_as, clean_app, outbox):
    admin, bea, cy, poll_id = _setup(api_as, hide_results="until_vote")
    assert api_as(bea).post(f"/polls/{poll_id}/votes", {"text": "agree"}).status_code == 200
    before = api_as(cy, "read").get(f"/polls/{poll_id}").json["results"]
    assert before["visible"] is False and before["tally"] is None and before["voters"] == []
    assert before["hidden_reason"] == "Results are hidden until you vote."
    after = api_as(cy).post(f"/polls/{poll_id}/votes", {"text": "disagree"}).json["results"]
    assert after["visible"] and sorted(v["name"] for v in after["voters"]) == ["Bea", "Cy"]


def test_results_hidden_until_closed_even_for_voters(api_as, clean_app, outbox):
    admin, bea, _, poll_id = _setup(api_as, hide_results="until_closed")
    voted = api_as(bea).post(f"/polls/{poll_id}/votes", {"text": "agree"}).json["results"]
    assert voted["visible"] is False and voted["tally"] is None
    closed = api_as(admin).post(f"/polls/{poll_id}/close").json["results"]
    assert closed["visible"] and closed["tally"]["voter_count"] == 1


def test_an_anonymous_poll_never_says_who_chose_what(api_as, clean_app, outbox):
    admin, bea, cy, poll_id = _setup(api_as, anonymous=True)
    api_as(bea).post(f"/polls/{poll_id}/votes", {"text": "agree: good idea"})
    api_as(cy).post(f"/polls/{poll_id}/votes", {"text": "block"})
    open_view = api_as(admin, "read").get(f"/polls/{poll_id}").json["results"]
    assert open_view["visible"] is False and open_view["tally"] is None
    assert open_view["hidden_reason"] == "This poll is anonymous: its votes are counted when it closes."
    closed = api_as(admin).post(f"/polls/{poll_id}/close").json
    results = closed["results"]
    assert results["visible"] and results["voters"] == [] and results["tally"]["voter_count"] == 2
    assert "Bea" not in str(closed) and "Cy" not in str(closed)
    assert results["anonymous_reasons"] == ["good idea"]
    assert api_as(bea, "read").get(f"/polls/{poll_id}").json["my_vote"] is None  # unlinked at closing
