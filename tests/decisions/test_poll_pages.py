"""The poll pages with JavaScript off: plain forms, CSRF, 303 after POST, 422 with the form again."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, Poll, Stance, utcnow
from app.services import polls as service
from tests.decisions.support import NINE, OPTIONS, make_poll, setup_group, vote_form
from tests.factories import DiscussionFactory, UserFactory
from tests.helpers import post, sign_in


def local(dt, zone="UTC"):
    return dt.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def creation_form(poll_type: str) -> dict:
    form = {"poll_type": poll_type, "title": f"Our {poll_type}", "closing_at": local(utcnow() + timedelta(days=2)),
            "hide_results": "off", "voter_scope": "group", "reason_mode": "optional", "reason_max_length": "500"}
    if poll_type in OPTIONS:
        form["options"] = "\n".join(OPTIONS[poll_type])
    if poll_type == "meeting":
        form.update(slots="2031-05-05 18:00\n2031-05-06 18:00\n2031-05-07 18:00", time_zone="Europe/Berlin",
                    duration_minutes="90")
    if poll_type == "question":
        form["reason_mode"] = ""
    return form


@pytest.mark.parametrize("poll_type", NINE)
def test_every_type_is_created_voted_changed_closed_and_exported_in_the_browser(client, poll_type):
    group, admin, (ann, *_) = setup_group(1)
    sign_in(client, admin)
    page = client.get(f"/g/{group.handle}/p/new?type={poll_type}")
    assert page.status_code == 200 and b'name="closing_at"' in page.data
    response = post(client, f"/g/{group.handle}/p/new", creation_form(poll_type))
    assert response.status_code == 303, response.data.decode()[:2000]
    poll = db.session.scalar(select(Poll))
    assert response.location == f"/p/{poll.id}" and poll.poll_type == poll_type

    client.post("/logout")
    sign_in(client, ann)
    page = client.get(f"/p/{poll.id}")
    assert page.status_code == 200 and b'action="/p/%d/vote"' % poll.id in page.data
    response = post(client, f"/p/{poll.id}/vote", vote_form(poll, 0))
    assert response.status_code == 303, response.data.decode()[:3000]
    page = client.get(f"/p/{poll.id}")
    assert b"Your vote is counted" in page.data and b"Change your vote" in page.data
    assert post(client, f"/p/{poll.id}/vote", vote_form(poll, 1)).status_code == 303
    page = client.get(f"/p/{poll.id}").data.decode()
    assert "Your earlier votes (1)" in page and "<svg" in page or poll_type == "question"
    assert db.session.scalar(select(Stance).where(Stance.latest.is_(True))).choices == (
        {int(k.split("-")[1]) if "-" in k else int(v): int(v) if "-" in k else 1
         for k, v in vote_form(poll, 1).items()} if poll_type not in ("question", "ranked_choice") else
        db.session.scalar(select(Stance).where(Stance.latest.is_(True))).choices)

    client.post("/logout")
    sign_in(client, admin)
    assert post(client, f"/p/{poll.id}/close").status_code == 303
    page = client.get(f"/p/{poll.id}").data.decode()
    assert "Closed" in page and "Write the outcome" in page and 'action="/p/%d/vote"' % poll.id not in page
    csv_response = client.get(f"/p/{poll.id}/results.csv")
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert "Voter A" in csv_response.data.decode()
    form = {"statement": "Decided."}
    if poll_type == "meeting":
        form["option_id"] = str(poll.options[1].id)
    assert post(client, f"/p/{poll.id}/outcome", form).status_code == 303
    assert "Decided." in client.get(f"/p/{poll.id}").data.decode()
    if poll_type == "meeting":
        ics = client.get(f"/p/{poll.id}/outcome.ics")
        assert ics.mimetype == "text/calendar" and b"DTSTART:20310506T160000Z" in ics.data  # 18:00 Berlin (CEST)


def test_the_results_chart_is_svg_with_counts_and_percentages(client):
    group, admin, (ann, ben, _) = setup_group()
    poll = make_poll("proposal", admin, group)
    for person in (ann, ben):
        service.cast_vote(actor_id=person.id, poll_id=poll.id, choices={poll.options[0].id: 1}, reason="Fine by me")
    sign_in(client, admin)
    page = client.get(f"/p/{poll.id}").data.decode()
    assert '<svg class="bar"' in page and "<script" not in page.split("</head>")[1]
    assert ">Agree</th><td class=\"num\">2</td><td class=\"num\">100%</td>" in page
    assert "Who chose what" in page and "Voter A" in page and "Fine by me" in page
    assert "Not voted yet (2)" in page  # the admin and Voter C, shown to the poll's admins


def test_an_invalid_vote_is_refused_with_the_form_again_and_nothing_changes(client):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("dot_vote", admin, group, dots_per_person=4)
    sign_in(client, ann)
    ids = [o.id for o in poll.options]
    response = post(client, f"/p/{poll.id}/vote", {f"score-{ids[0]}": "3", f"score-{ids[1]}": "3"})
    assert response.status_code == 422
    page = response.data.decode()
    assert "You gave 6 dots, but everyone has 4 to spend." in page and 'value="3"' in page
    response = post(client, f"/p/{poll.id}/vote", {f"score-{ids[0]}": "lots"})
    assert response.status_code == 422 and "whole number" in response.data.decode()
    assert db.session.scalar(select(Stance.id)) is None


def test_ranked_choice_form_refuses_the_same_rank_twice(client):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("ranked_choice", admin, group)
    sign_in(client, ann)
    ids = [o.id for o in poll.options]
    response = post(client, f"/p/{poll.id}/vote", {f"rank-{ids[0]}": "1", f"rank-{ids[1]}": "1"})
    assert response.status_code == 422 and "one option only" in response.data.decode()


def test_a_closed_poll_refuses_votes(client):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("check", admin, group)
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    sign_in(client, ann)
    response = post(client, f"/p/{poll.id}/vote", {"option": str(poll.options[0].id)})
    assert response.status_code == 422 and "votes are no longer taken" in response.data.decode()


def test_non_members_see_nothing_of_a_closed_group_and_cannot_vote(client):
    group, admin, _ = setup_group()
    poll = make_poll("proposal", admin, group)
    sign_in(client, UserFactory())
    assert client.get(f"/p/{poll.id}").status_code == 404
    assert post(client, f"/p/{poll.id}/vote", {"option": str(poll.options[0].id)}).status_code == 404
    assert client.get(f"/p/{poll.id}/results.csv").status_code == 404
    assert client.get(f"/g/{group.handle}/p/new?type=proposal").status_code == 403
    assert db.session.scalar(select(Stance.id)) is None


def test_signed_out_visitors_are_sent_to_sign_in(client):
    group, admin, _ = setup_group()
    poll = make_poll("proposal", admin, group)
    response = client.get(f"/p/{poll.id}")
    assert response.status_code == 302 and "/login" in response.location


def test_posting_without_the_csrf_token_changes_nothing(client):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("proposal", admin, group)
    sign_in(client, ann)
    response = client.post(f"/p/{poll.id}/vote", data={"option": str(poll.options[0].id)})
    assert response.status_code == 400 and db.session.scalar(select(Stance.id)) is None


def test_members_cannot_use_the_admin_forms(client):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("proposal", admin, group)
    sign_in(client, ann)
    assert b"Close the poll now" not in client.get(f"/p/{poll.id}").data
    for action in ("close", "delete"):
        assert post(client, f"/p/{poll.id}/{action}").status_code == 403
    assert post(client, f"/p/{poll.id}/remind", {"message": "hi"}).status_code == 403
    assert db.session.get(Poll, poll.id).is_open


def test_bad_creation_forms_come_back_with_a_message(client):
    group, admin, _ = setup_group()
    sign_in(client, admin)
    form = creation_form("poll") | {"options": "Only one", "title": "Keep me"}
    response = post(client, f"/g/{group.handle}/p/new", form)
    assert response.status_code == 422 and "at least 2 options" in response.data.decode()
    assert 'value="Keep me"' in response.data.decode()
    form = creation_form("proposal") | {"closing_at": "next week"}
    response = post(client, f"/g/{group.handle}/p/new", form)
    assert response.status_code == 422 and "date and time" in response.data.decode()
    form = creation_form("proposal") | {"voter_scope": "specified", "voters": "not-an-address"}
    response = post(client, f"/g/{group.handle}/p/new", form)
    assert response.status_code == 422 and "is not an email address" in response.data.decode()
    form = creation_form("meeting") | {"time_zone": "Mars/Olympus_Mons"}
    response = post(client, f"/g/{group.handle}/p/new", form)
    assert response.status_code == 422 and "known time zone" in response.data.decode()
    assert db.session.scalar(select(Poll.id)) is None


def test_type_chooser_lists_all_nine_kinds(client):
    group, admin, _ = setup_group()
    sign_in(client, admin)
    page = client.get(f"/g/{group.handle}/p/new").data.decode()
    for label in ("Proposal", "Sense check", "Count", "Question", "Poll", "Dot vote", "Score poll", "Ranked choice",
                  "Meeting time"):
        assert f"<strong>{label}</strong>" in page


def test_a_poll_started_in_a_thread_shows_on_the_thread_page(client):
    group, admin, (ann, *_) = setup_group()
    thread = DiscussionFactory(group=group, author=admin)
    sign_in(client, ann)
    response = post(client, f"/d/{thread.id}/p/new", creation_form("check") | {"title": "Paint it green?"})
    assert response.status_code == 303
    poll = db.session.scalar(select(Poll))
    assert poll.discussion_id == thread.id
    page = client.get(f"/d/{thread.id}")
    assert page.status_code == 200 and "Paint it green?" in page.data.decode()
    assert f'href="/p/{poll.id}"' in page.data.decode()


def test_reopen_and_remind_forms(client):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("proposal", admin, group)
    sign_in(client, admin)
    assert post(client, f"/p/{poll.id}/remind", {"message": "Last call!"}).status_code == 303
    assert db.session.scalar(select(Event).where(Event.kind == "poll_reminder")).data["message"] == "Last call!"
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    response = post(client, f"/p/{poll.id}/reopen", {"closing_at": local(utcnow() - timedelta(days=1))})
    assert response.status_code == 422 and "in the future" in response.data.decode()
    response = post(client, f"/p/{poll.id}/reopen", {"closing_at": local(utcnow() + timedelta(days=1))})
    assert response.status_code == 303 and db.session.get(Poll, poll.id).is_open


def test_htmx_gets_just_the_poll_section(client):
    group, admin, (ann, *_) = setup_group()
    poll = make_poll("proposal", admin, group)
    sign_in(client, ann)
    fragment = client.get(f"/p/{poll.id}", headers={"HX-Request": "true"}).data.decode()
    assert fragment.startswith('<section id="poll"') and "<html" not in fragment
    assert 'hx-post="/p/%d/vote"' % poll.id in fragment


def test_one_click_vote_shows_a_button_and_only_the_post_votes(client):
    from app.email import links

    group, admin, (ann, *_) = setup_group()
    poll = make_poll("proposal", admin, group)
    url = links.vote_url(ann, poll_id=poll.id, option_id=poll.options[2].id).replace("http://localhost", "")
    page = client.get(url)
    assert page.status_code == 200 and "Vote “Disagree” as Voter A" in page.data.decode()
    assert db.session.scalar(select(Stance.id)) is None  # a GET never votes
    response = post(client, url, {"reason": "Too dear"})
    assert response.status_code == 303
    stance = service.current_stance(ann.id, poll.id)
    assert stance.choices == {poll.options[2].id: 1} and stance.reason == "Too dear" and stance.source == "link"
    assert "your vote is counted" in client.get(response.location).data.decode()
    assert client.get(url.replace(url.rsplit("/", 1)[1], "forged")).status_code == 410
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    response = post(client, url)
    assert response.status_code == 422 and "has closed, so it takes no more votes" in response.data.decode()
