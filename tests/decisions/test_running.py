"""Running a poll, in the browser with JavaScript off (plain forms, 303) and through the services the
mail commands share: none of the above, shuffled options, reason prompts, the closing-soon notice's
audience and time, reminding one person, a proposal's requirements to pass, an outcome's review date,
adding a standalone poll to a thread, and receipts (who took part, not what they chose)."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, Outcome, Poll, utcnow
from app.polls.base import ordered_options
from app.services import polls as service
from app.services.errors import Invalid, NotAllowed
from tests.decisions.support import make_poll, setup_group
from tests.factories import DiscussionFactory, member
from tests.helpers import post, sign_in


def fresh(poll) -> Poll:
    db.session.expire_all()
    return db.session.get(Poll, poll.id)


def page(client, poll) -> str:
    return client.get(f"/p/{poll.id}").get_data(as_text=True)


@pytest.fixture
def club(clean_app, outbox):
    group, admin, people = setup_group(3, handle="club")
    return dict(group=group, admin=admin, people=people)


# --- none of the above ----------------------------------------------------------------------------

def test_a_ranked_choice_voter_chooses_none_of_the_above_and_the_results_count_it(client, club):
    poll = make_poll("ranked_choice", club["admin"], club["group"], allow_none_of_the_above=True)
    ann, ben = club["people"][:2]
    sign_in(client, ann)
    assert 'name="none"' in page(client, poll)
    assert post(client, f"/p/{poll.id}/vote", {"none": "1"}).status_code == 303
    apple = ordered_options(poll)[0]
    service.cast_vote(actor_id=ben.id, poll_id=poll.id, choices={apple.id: 3})
    html = page(client, poll)
    assert "None of the above: 1 of 2 votes" in html
    assert "None of the above" in html.split('id="mine-h"')[1].split("</section>")[0]  # "Your vote"
    # Ranking an option as well as "none" is refused with a form error, not a 500.
    response = post(client, f"/p/{poll.id}/vote", {"none": "1", f"rank-{apple.id}": "1"})
    assert response.status_code == 422 and "be combined with ranking" in response.get_data(as_text=True)


def test_none_of_the_above_is_refused_where_the_poll_does_not_offer_it(club):
    poll = make_poll("ranked_choice", club["admin"], club["group"])
    with pytest.raises(Invalid):
        service.cast_vote(actor_id=club["people"][0].id, poll_id=poll.id, choices={})


# --- shuffled options -----------------------------------------------------------------------------

FIVE = ["Apple", "Pear", "Plum", "Fig", "Kiwi"]


def shown_order(html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="option" value="\d+"[^>]*> (\w+)</label>', html)


def test_each_viewer_sees_their_own_stable_order_and_the_poll_keeps_its_own(client, club):
    poll = make_poll("poll", club["admin"], club["group"], options=FIVE, running={"shuffle_options": True})
    orders = []
    for person in club["people"]:
        sign_in(client, person)
        first = shown_order(page(client, poll))
        assert sorted(first) == sorted(FIVE)
        assert shown_order(page(client, poll)) == first  # the same on every visit
        orders.append(first)
    assert len({tuple(o) for o in orders}) > 1  # three viewers, 120 orders: not all the same
    client.get("/logout")
    assert [o.name for o in ordered_options(fresh(poll))] == FIVE


def test_the_mail_shows_each_readers_order_with_each_options_own_number(club, outbox):
    poll = make_poll("poll", club["admin"], club["group"], options=FIVE, running={"shuffle_options": True})
    own = {name: n for n, name in enumerate(FIVE, 1)}
    seen = set()
    for person in club["people"]:
        text = outbox.last_to(person.email).text
        listed = re.findall(r"^  (\d)\. (\w+)\r?$", text, re.MULTILINE)
        assert sorted(name for _, name in listed) == sorted(FIVE)
        assert all(own[name] == int(n) for n, name in listed)  # "3. Plum" wherever Plum is shown
        seen.add(tuple(name for _, name in listed))
        # What the reader's first listed number means is the option shown beside it.
        n, name = listed[0]
        stance = service.cast_vote(actor_id=person.id, poll_id=poll.id, text=n)
        assert [o.name for o in ordered_options(fresh(poll)) if o.id in stance.choices] == [name]
    assert len(seen) > 1


# --- reason prompts -------------------------------------------------------------------------------

def test_reason_prompts_of_the_poll_and_of_an_option_show_by_the_reason_field_and_in_mail(client, club, outbox):
    response = None
    sign_in(client, club["admin"])
    response = post(client, "/g/club/p/new", {
        "poll_type": "proposal", "title": "Buy a mower", "closing_at": (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "reason_mode": "optional", "hide_results": "off", "voter_scope": "group", "reason_max_length": "2000",
        "reason_prompt": "What matters most to you?", "prompt-2": "What would change your mind?",
        "closing_soon_audience": "undecided", "closing_soon_hours": "24"})
    assert response.status_code == 303, response.get_data(as_text=True)
    poll = db.session.scalar(select(Poll).where(Poll.title == "Buy a mower"))
    sign_in(client, club["people"][0])
    form = page(client, poll).split('class="vote-form"')[1]
    assert "What matters most to you?" in form and "If you choose Disagree: What would change your mind?" in form
    text = outbox.last_to(club["people"][0].email).text
    assert "In your reason: What matters most to you?" in text
    assert "If you choose Disagree, in your reason: What would change your mind?" in text


def test_prompts_and_settings_change_on_the_edit_page_and_the_history_says_so(client, club):
    poll = make_poll("poll", club["admin"], club["group"], options=["Red", "Blue"])
    red = ordered_options(poll)[0]
    sign_in(client, club["admin"])
    edit = client.get(f"/p/{poll.id}/edit").get_data(as_text=True)
    assert f'name="prompt-{red.id}"' in edit and 'name="shuffle_options"' in edit
    form = {"title": poll.title, "details": "", "closing_at": edit.split('name="closing_at" type="datetime-local" value="')[1][:16],
            f"option-{red.id}": "Red", f"prompt-{red.id}": "Why red?", "shuffle_options": "1",
            "closing_soon_audience": "everyone", "closing_soon_hours": "48"}
    form[f"option-{ordered_options(poll)[1].id}"] = "Blue"
    assert post(client, f"/p/{poll.id}/edit", form).status_code == 303
    after = fresh(poll)
    assert (after.shuffle_options, after.closing_soon_audience, after.closing_soon_hours) == (True, "everyone", 48)
    assert ordered_options(after)[0].reason_prompt == "Why red?"
    assert "Closing-soon notice goes to everyone who may vote" in page(client, poll)
    # Bad input is a form error by its field, and nothing is saved.
    form["closing_soon_hours"] = "0"
    response = post(client, f"/p/{poll.id}/edit", form)
    assert response.status_code == 422 and "between 1 and 168 hours" in response.get_data(as_text=True)


# --- the closing-soon notice ----------------------------------------------------------------------

@pytest.mark.parametrize("audience, told", [
    ("nobody", set()), ("author", {"admin"}), ("undecided", {"admin", "ben", "cy"}),
    ("everyone", {"admin", "ann", "ben", "cy"}),
])
def test_the_closing_soon_notice_goes_to_its_audience_once(club, outbox, audience, told):
    admin, (ann, ben, cy) = club["admin"], club["people"]
    names = {admin.email: "admin", ann.email: "ann", ben.email: "ben", cy.email: "cy"}
    poll = make_poll("poll", admin, club["group"], running={"closing_soon_audience": audience})
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={ordered_options(poll)[0].id: 1})
    outbox.clear()
    when = fresh(poll).closing_at - timedelta(hours=12)
    service.send_closing_soon(now=when)
    got = {names[m.to] for m in outbox.messages() if m.to in names}
    assert got == told
    assert service.send_closing_soon(now=when + timedelta(minutes=5)) == 0  # once
    if "ann" in told:
        assert "you have voted" in outbox.last_to(ann.email).text
    if audience == "author":
        assert "Your poll closes soon" in outbox.last_to(admin.email).text


def test_the_notice_goes_out_at_the_polls_own_time(club, outbox):
    poll = make_poll("poll", club["admin"], club["group"], running={"closing_soon_hours": 48})
    closing = fresh(poll).closing_at
    assert service.send_closing_soon(now=closing - timedelta(hours=49)) == 0
    assert service.send_closing_soon(now=closing - timedelta(hours=47)) == 1
    other = make_poll("poll", club["admin"], club["group"])  # 24 hours, as before
    assert service.send_closing_soon(now=fresh(other).closing_at - timedelta(hours=30)) == 0


# --- reminding one person -------------------------------------------------------------------------

def test_the_author_reminds_one_person_from_the_page_at_most_once_a_day(client, club, outbox):
    poll = make_poll("poll", club["admin"], club["group"])
    ann, ben, cy = club["people"]
    outbox.clear()
    sign_in(client, club["admin"])
    assert 'action="/p/%d/remind/person"' % poll.id in page(client, poll)
    assert post(client, f"/p/{poll.id}/remind/person", {"person_id": str(ben.id)}).status_code == 303
    assert [m.to for m in outbox.messages()] == [ben.email]
    response = post(client, f"/p/{poll.id}/remind/person", {"person_id": str(ben.id)})
    assert response.status_code == 422 and "at most once a day" in response.get_data(as_text=True)
    # "Remind the undecided" skips whoever was reminded today.
    outbox.clear()
    assert service.remind(actor_id=club["admin"].id, poll_id=poll.id) == 3  # the admin may vote too, but sends it
    assert sorted(m.to for m in outbox.messages()) == sorted([ann.email, cy.email])
    with pytest.raises(Invalid, match="once a day"):
        service.remind(actor_id=club["admin"].id, poll_id=poll.id)


def test_a_member_cannot_remind_and_a_voter_is_not_reminded(client, club):
    poll = make_poll("poll", club["admin"], club["group"])
    ann, ben, _ = club["people"]
    sign_in(client, ann)
    assert 'remind/person' not in page(client, poll)
    assert post(client, f"/p/{poll.id}/remind/person", {"person_id": str(ben.id)}).status_code == 403
    service.cast_vote(actor_id=ben.id, poll_id=poll.id, choices={ordered_options(poll)[0].id: 1})
    with pytest.raises(Invalid, match="has voted already"):
        service.remind_person(actor_id=club["admin"].id, poll_id=poll.id, who=ben.name)
    with pytest.raises(NotAllowed):
        service.remind_person(actor_id=ann.id, poll_id=poll.id, who=ben.email)


# --- requirements to pass -------------------------------------------------------------------------

def test_a_proposals_requirements_show_on_the_page_in_the_csv_and_in_the_closed_mail(client, club, outbox):
    admin, (ann, ben, cy) = club["admin"], club["people"]
    poll = make_poll("proposal", admin, club["group"], running={"quorum_percent": 50, "pass_percent": 60,
                                                                "pass_without_blocks": True})
    agree = ordered_options(poll)[0]
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={agree.id: 1})
    sign_in(client, ann)
    html = page(client, poll)  # 1 of 4 voted: exactly one below 2 of 4
    assert "Not met yet:</strong> at least 50% of the 4 eligible voters take part — 1 of 4 voted (25%)" in html
    assert "it would not pass" in html
    service.cast_vote(actor_id=ben.id, poll_id=poll.id, choices={agree.id: 1})
    html = page(client, poll)  # 2 of 4: exactly at the quorum
    assert "Met:</strong> at least 50% of the 4 eligible voters take part — 2 of 4 voted (50%)" in html
    assert "it would pass" in html
    csv = client.get(f"/p/{poll.id}/results.csv").get_data(as_text=True)
    assert "requirement,at least 60% of the votes cast are Agree,2 of 2 votes (100%),met" in csv
    service.cast_vote(actor_id=cy.id, poll_id=poll.id, choices={ordered_options(poll)[3].id: 1})  # a block
    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    text = outbox.last_to(ann.email).text
    assert "Nobody blocks: 1 block — not met" in text and "Did not pass" in text
    assert "Did not pass" in page(client, poll)


def test_while_results_are_hidden_only_participation_is_shown(client, club):
    poll = make_poll("proposal", club["admin"], club["group"], hide_results="until_closed",
                     running={"quorum_percent": 25, "pass_percent": 50})
    service.cast_vote(actor_id=club["people"][0].id, poll_id=poll.id, choices={ordered_options(poll)[2].id: 1})
    sign_in(client, club["people"][1])
    html = page(client, poll)
    assert "1 of 4 voted (25%)" in html and "votes cast are Agree" not in html


def test_threshold_settings_outside_0_to_100_are_a_form_error(client, club):
    sign_in(client, club["admin"])
    response = post(client, "/g/club/p/new", {
        "poll_type": "proposal", "title": "Too keen", "closing_at": (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "quorum_percent": "120"})
    assert response.status_code == 422 and "from 0 to 100" in response.get_data(as_text=True)


# --- the outcome's review date --------------------------------------------------------------------

def test_the_outcome_form_takes_a_review_date_and_the_author_is_reminded_then_once(client, club, outbox):
    poll = make_poll("proposal", club["admin"], club["group"])
    service.close_poll(actor_id=club["admin"].id, poll_id=poll.id)
    sign_in(client, club["admin"])
    day = date.today() + timedelta(days=40)
    response = post(client, f"/p/{poll.id}/outcome", {"statement": "We buy it.", "review_at": day.isoformat()})
    assert response.status_code == 303
    outcome = db.session.scalar(select(Outcome).where(Outcome.poll_id == poll.id))
    assert outcome.review_at.date() in (day, day - timedelta(days=1), day + timedelta(days=1))  # 09:00 in the member's zone
    assert "To be reviewed" in page(client, poll)
    outbox.clear()
    assert service.send_outcome_reviews(now=utcnow() + timedelta(days=30)) == 0
    assert service.send_outcome_reviews(now=utcnow() + timedelta(days=42)) == 1
    assert service.send_outcome_reviews(now=utcnow() + timedelta(days=43)) == 0
    assert [m.to for m in outbox.messages()] == [club["admin"].email]
    assert "time to review the outcome" in outbox.last_to(club["admin"].email).text and "We buy it." in outbox.messages()[0].text
    response = post(client, f"/p/{poll.id}/outcome", {"statement": "Again.", "review_at": "2001-01-01"})
    assert response.status_code == 422 and "must be in the future" in response.get_data(as_text=True)


# --- adding a standalone poll to a thread ---------------------------------------------------------

def test_the_author_adds_a_standalone_poll_to_a_thread_and_it_shows_there(client, club):
    thread = DiscussionFactory(group=club["group"], author=club["admin"], title="Garden plans")
    poll = make_poll("poll", club["admin"], club["group"], title="Which seeds")
    sign_in(client, club["admin"])
    assert 'action="/p/%d/thread"' % poll.id in page(client, poll)
    assert post(client, f"/p/{poll.id}/thread", {"discussion_id": str(thread.id)}).status_code == 303
    assert fresh(poll).discussion_id == thread.id
    assert "Which seeds" in client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert "Added to the thread “Garden plans”" in page(client, poll)
    assert 'action="/p/%d/thread"' % poll.id not in page(client, poll)  # in a thread now


def test_a_member_cannot_move_anothers_poll_nor_into_a_closed_or_foreign_thread(client, club):
    thread = DiscussionFactory(group=club["group"], author=club["admin"], title="Open one")
    closed = DiscussionFactory(group=club["group"], author=club["admin"], title="Old one", closed_at=utcnow())
    elsewhere_group, other_admin, _ = setup_group(0, handle="other")
    member(elsewhere_group, email="x@example.org")
    foreign = DiscussionFactory(group=elsewhere_group, author=other_admin, title="Foreign")
    poll = make_poll("poll", club["admin"], club["group"])
    sign_in(client, club["people"][0])
    assert post(client, f"/p/{poll.id}/thread", {"discussion_id": str(thread.id)}).status_code == 403
    sign_in(client, club["admin"])
    for target in (closed, foreign):
        assert post(client, f"/p/{poll.id}/thread", {"discussion_id": str(target.id)}).status_code == 422
    assert post(client, f"/p/{poll.id}/thread", {"discussion_id": "nope"}).status_code == 422
    assert fresh(poll).discussion_id is None


# --- receipts -------------------------------------------------------------------------------------

def test_receipts_name_who_took_part_and_when_but_not_what(client, club):
    poll = make_poll("poll", club["admin"], club["group"], options=["Secretchoice", "Other"], hide_results="until_closed")
    ann = club["people"][0]
    service.cast_vote(actor_id=ann.id, poll_id=poll.id, choices={ordered_options(poll)[0].id: 1})
    sign_in(client, club["people"][1])
    html = page(client, poll)
    receipts = html.split('class="receipts"')[1].split("</details>")[0]
    assert "Who took part (1)" in receipts and ann.display_name in receipts and "Secretchoice" not in receipts
    client.get("/logout")


def test_an_anonymous_poll_has_no_receipts(client, club):
    poll = make_poll("poll", club["admin"], club["group"], anonymous=True)
    service.cast_vote(actor_id=club["people"][0].id, poll_id=poll.id, choices={ordered_options(poll)[0].id: 1})
    sign_in(client, club["admin"])
    assert 'class="receipts"' not in page(client, poll)
    assert service.receipts(club["admin"], fresh(poll)) == []
    event_count = db.session.scalar(select(Event.id).where(Event.kind == "stance_created").limit(1))
    assert event_count is not None
