"""Results hidden until you vote, or until the poll closes, are hidden in every output."""
from __future__ import annotations

from app.services import polls as service
from tests.decisions.support import make_poll, setup_group, vote_for
from tests.helpers import sign_in


def _outputs(client, poll_id: int) -> dict:
    return {
        "page": client.get(f"/p/{poll_id}").data.decode(),
        "fragment": client.get(f"/p/{poll_id}", headers={"HX-Request": "true"}).data.decode(),
        "csv": client.get(f"/p/{poll_id}/results.csv"),
    }


def test_until_closed_hides_results_from_everyone_including_voters_and_admins(client, outbox):
    group, admin, (ann, ben, _) = setup_group()
    poll = make_poll("score", admin, group, hide_results="until_closed")
    for person, variant in ((ann, 0), (ben, 1)):
        choices, _ = vote_for(poll, variant)
        service.cast_vote(actor_id=person.id, poll_id=poll.id, choices=choices, reason=f"secret-{variant}")
    for viewer, others in ((admin, ["secret-0", "secret-1"]), (ann, ["secret-1"]), (ben, ["secret-0"])):
        client.post("/logout")
        sign_in(client, viewer)
        out = _outputs(client, poll.id)
        for html in (out["page"], out["fragment"]):
            assert "Results are hidden until the poll closes." in html
            assert '<svg class="bar"' not in html and not any(s in html for s in others)
        assert out["csv"].status_code == 403 and b"hidden" in out["csv"].data
    for mail in outbox.messages():
        assert "Results (" not in mail.text and "secret-" not in mail.text

    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    out = _outputs(client, poll.id)
    assert '<svg class="bar"' in out["page"] and out["csv"].status_code == 200 and b"North" in out["csv"].data


def test_until_vote_shows_results_once_you_have_voted(client):
    group, admin, (ann, ben, _) = setup_group()
    poll = make_poll("poll", admin, group, hide_results="until_vote")
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={poll.options[0].id: 1})
    sign_in(client, ben)
    out = _outputs(client, poll.id)
    assert "Results are hidden until you vote." in out["page"] and "Who chose what" not in out["page"]
    assert out["csv"].status_code == 403
    client.post("/logout")
    sign_in(client, ann)
    out = _outputs(client, poll.id)
    assert "Who chose what" in out["page"] and out["csv"].status_code == 200
