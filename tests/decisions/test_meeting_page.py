"""The meeting poll's page: nothing is chosen for you, your vote names its times, one word for maybe."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Stance
from tests.decisions.support import make_poll, setup_group
from tests.helpers import post, sign_in


def test_pressing_vote_without_choosing_records_nothing_and_asks_to_choose(client):
    group, admin, (ann, *_) = setup_group(1)
    poll = make_poll("meeting", admin, group)
    sign_in(client, ann)
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert not re.search(r'name="slot-\d+"[^>]*checked', page)
    response = post(client, f"/p/{poll.id}/vote", {"reason": ""})
    assert response.status_code == 422
    assert "Please choose yes, maybe or no for at least one time." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Stance.id))) == 0


def test_your_vote_names_the_times_in_your_zone_and_a_slot_you_left_out_is_no(client):
    group, admin, (ann, *_) = setup_group(1)
    ann.time_zone = "Europe/Berlin"
    db.session.commit()
    poll = make_poll("meeting", admin, group)
    first, second, third = sorted(poll.options, key=lambda o: o.starts_at)
    sign_in(client, ann)
    assert post(client, f"/p/{poll.id}/vote", {f"slot-{first.id}": "2", f"slot-{second.id}": "1"}).status_code == 303
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    mine = page.split(">Your vote</h2>")[1].split("</p>")[0]
    assert "Mon 5 May 2031, 19:00–20:00 (Europe/Berlin): yes" in mine and "Slot" not in mine
    assert "Tue 6 May 2031, 19:00–20:00 (Europe/Berlin): maybe" in mine
    assert "Wed 7 May 2031, 19:00–20:00 (Europe/Berlin): no" in mine
    # Changing the vote: the form shows the vote as it stands, the left-out slot as no.
    assert re.search(rf'name="slot-{third.id}" value="0"[^>]*checked', page)


def test_the_form_and_the_results_use_one_word_for_maybe(client):
    group, admin, (ann, *_) = setup_group(1)
    poll = make_poll("meeting", admin, group)
    sign_in(client, ann)
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert '<th scope="col">Maybe</th>' in page.split('class="meeting-vote"')[1] and "If need be" not in page
    post(client, f"/p/{poll.id}/vote", {f"slot-{o.id}": "1" for o in poll.options})
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert '<th scope="col">Maybe</th>' in page.split('class="results meeting"')[1] and "If need be" not in page
