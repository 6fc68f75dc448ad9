"""What a poll page says in words: nobody wins an open vote, and one of a thing is never "1 things"."""
from __future__ import annotations

from app.polls import get_type
from app.polls.base import OptionResult
from app.services import polls as service
from tests.decisions.support import make_poll, setup_group, vote_form
from tests.helpers import post, sign_in


def test_an_open_ranked_choice_poll_names_who_is_leading_and_a_closed_one_who_won(client):
    group, admin, (ann, bob, cy) = setup_group(3)
    poll = make_poll("ranked_choice", admin, group)
    for person in (ann, bob, cy):
        sign_in(client, person)
        assert post(client, f"/p/{poll.id}/vote", vote_form(poll, 0)).status_code == 303
        client.post("/logout")
    sign_in(client, admin)
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert "“Apple” is leading" in page and "wins" not in page
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert "“Apple” wins" in page and "leading" not in page


def test_pressing_vote_with_nothing_ranked_asks_for_one_option_not_one_options(client):
    group, admin, (ann, *_) = setup_group(1)
    poll = make_poll("ranked_choice", admin, group)
    sign_in(client, ann)
    response = post(client, f"/p/{poll.id}/vote", {f"rank-{o.id}": "" for o in poll.options})
    assert response.status_code == 422
    assert "Please rank at least 1 option." in response.get_data(as_text=True)


def test_a_dot_vote_with_one_dot_says_dot(client):
    group, admin, (ann, *_) = setup_group(1)
    poll = make_poll("dot_vote", admin, group, dots_per_person=1)
    sign_in(client, ann)
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert "Spread up to 1 dot<" in page
    response = post(client, f"/p/{poll.id}/vote", {f"score-{poll.options[0].id}": "1", f"score-{poll.options[1].id}": "1"})
    assert response.status_code == 422 and "You gave 2 dots, but everyone has 1 to spend." in response.get_data(as_text=True)


def test_one_point_is_one_point_in_mails_and_digests():
    row = OptionResult(option_id=1, name="North", priority=0, score_total=1, percent=100.0)
    for kind in ("score", "dot_vote", "ranked_choice"):
        assert get_type(kind).result_line(row) == "1 point (100%)"
    assert get_type("score").result_line(OptionResult(option_id=1, name="N", priority=0, score_total=3, percent=50.0)) == "3 points (50%)"
