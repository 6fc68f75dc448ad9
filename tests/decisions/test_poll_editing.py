"""Editing an open poll in the browser with JavaScript off: title, details, closing time, options
(with a confirmation naming the votes a removal or rename touches), voters adding options; every
change in the poll's history on its page; voters told by mail when an option changed."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Poll, PollOption, PollVoter, Stance, utcnow
from app.polls.base import ordered_options
from app.services import polls as service
from tests.decisions.support import make_poll, setup_group
from tests.factories import UserFactory, member
from tests.helpers import post, sign_in


def local(dt, zone="UTC"):
    return dt.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def aware(value):
    from datetime import timezone

    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def edit_form(poll: Poll, **changes) -> dict:
    form = {"title": poll.title, "details": poll.details or "", "closing_at": local(poll.closing_at)}
    for o in poll.options:
        form[f"option-{o.id}"] = o.name
    form.update(changes)
    return form


def fresh(poll: Poll) -> Poll:
    db.session.expire_all()
    return db.session.get(Poll, poll.id)


@pytest.fixture
def colours(clean_app, outbox):
    group, admin, (ann, ben) = setup_group(2, handle="paint")
    poll = make_poll("poll", admin, group, title="Door colour")
    return dict(group=group, admin=admin, ann=ann, ben=ben, poll=poll)


def test_the_author_changes_title_details_and_closing_time_and_the_page_shows_the_history(client, colours):
    poll = colours["poll"]
    sign_in(client, colours["admin"])
    page = client.get(f"/p/{poll.id}/edit")
    assert page.status_code == 200 and b'name="closing_at"' in page.data and b"csrf_token" in page.data
    later = utcnow() + timedelta(days=9)
    response = post(client, f"/p/{poll.id}/edit", edit_form(poll, title="Front door colour", details="Outside only.",
                                                           closing_at=local(later)))
    assert response.status_code == 303 and response.location == f"/p/{poll.id}"
    poll = fresh(poll)
    assert (poll.title, poll.details) == ("Front door colour", "Outside only.")
    assert local(poll.closing_at) == local(later)
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert "Changes" in page and "Title: “Door colour” → “Front door colour”" in page and "Closing time:" in page


def test_the_closing_time_may_come_sooner_but_never_in_the_past(client, colours):
    poll = colours["poll"]
    sign_in(client, colours["admin"])
    sooner = utcnow() + timedelta(hours=5)
    assert post(client, f"/p/{poll.id}/edit", edit_form(poll, closing_at=local(sooner))).status_code == 303
    assert local(fresh(poll).closing_at) == local(sooner)
    response = post(client, f"/p/{poll.id}/edit", edit_form(poll, closing_at=local(utcnow() - timedelta(hours=1))))
    assert response.status_code == 422 and "must be in the future" in response.get_data(as_text=True)
    assert local(fresh(poll).closing_at) == local(sooner)


@pytest.mark.parametrize("changes, says", [
    ({"title": ""}, "Please give the poll a title."),
    ({"closing_at": "next tuesday"}, "as a date and time"),
    ({"new_options": "Red"}, "Two options have the same name."),
    ({"new_options": "7"}, "just a number"),
])
def test_bad_input_is_a_form_error_and_changes_nothing(client, colours, changes, says):
    poll = colours["poll"]
    sign_in(client, colours["admin"])
    response = post(client, f"/p/{poll.id}/edit", edit_form(poll, **changes))
    assert response.status_code == 422 and says in response.get_data(as_text=True)
    assert fresh(poll).title == "Door colour" and len(fresh(poll).options) == 3
    assert service.poll_history(poll.id) == []


def test_adding_an_option_tells_those_who_voted_by_mail(client, colours, outbox):
    poll = colours["poll"]
    red = ordered_options(poll)[0]
    service.cast_vote(actor_id=colours["ann"].id, poll_id=poll.id, choices={red.id: 1})
    outbox.clear()
    sign_in(client, colours["admin"])
    assert post(client, f"/p/{poll.id}/edit", edit_form(poll, new_options="Yellow\nBlack")).status_code == 303
    assert [o.name for o in ordered_options(fresh(poll))] == ["Red", "Green", "Blue", "Yellow", "Black"]
    mail = outbox.last_to(colours["ann"].email)
    assert "Added: Yellow" in mail.text and "Added: Black" in mail.text
    assert outbox.to(colours["ben"].email) == []  # Ben has not voted


def test_a_title_change_mails_nobody(client, colours, outbox):
    poll = colours["poll"]
    service.cast_vote(actor_id=colours["ann"].id, poll_id=poll.id, choices={ordered_options(poll)[0].id: 1})
    outbox.clear()
    sign_in(client, colours["admin"])
    assert post(client, f"/p/{poll.id}/edit", edit_form(poll, title="Door paint")).status_code == 303
    assert outbox.to(colours["ann"].email) == []


def test_removing_an_option_with_votes_asks_first_naming_the_votes(client, colours, outbox):
    poll = colours["poll"]
    red, green, _ = ordered_options(poll)
    service.cast_vote(actor_id=colours["ann"].id, poll_id=poll.id, choices={red.id: 1})
    service.cast_vote(actor_id=colours["ben"].id, poll_id=poll.id, choices={red.id: 1})
    outbox.clear()
    sign_in(client, colours["admin"])
    form = edit_form(poll, **{f"remove-{red.id}": "1"})
    response = post(client, f"/p/{poll.id}/edit", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Removing “Red” changes 2 votes" in page
    assert 'name="confirm" value="1"' in page
    assert db.session.get(PollOption, red.id) is not None  # nothing yet
    response = post(client, f"/p/{poll.id}/edit", {**form, "confirm": "1"})
    assert response.status_code == 303
    assert [o.name for o in ordered_options(fresh(poll))] == ["Green", "Blue"]
    assert "Removed: Red" in outbox.last_to(colours["ann"].email).text
    assert "Option removed: “Red”" in client.get(f"/p/{poll.id}").get_data(as_text=True)
    # Their votes chose only Red, so they are undecided again (and a reminder reaches them).
    from app import policy

    assert not policy.has_voted(colours["ann"], fresh(poll)) and service.current_stance(colours["ann"].id, poll.id) is None
    assert colours["ann"].id in service.non_voter_ids(fresh(poll))


def test_renaming_an_option_with_votes_asks_first(client, colours):
    poll = colours["poll"]
    red = ordered_options(poll)[0]
    service.cast_vote(actor_id=colours["ann"].id, poll_id=poll.id, choices={red.id: 1})
    sign_in(client, colours["admin"])
    form = edit_form(poll, **{f"option-{red.id}": "Crimson"})
    assert "Renaming “Red” to “Crimson” changes 1 vote " in post(client, f"/p/{poll.id}/edit", form).get_data(as_text=True)
    assert post(client, f"/p/{poll.id}/edit", {**form, "confirm": "1"}).status_code == 303
    assert db.session.get(PollOption, red.id).name == "Crimson"
    stance = db.session.scalar(select(Stance).where(Stance.latest.is_(True)))
    assert stance.choices == {red.id: 1}  # the vote follows the renamed option


def test_an_option_without_votes_is_removed_without_asking(client, colours):
    poll = colours["poll"]
    blue = ordered_options(poll)[2]
    sign_in(client, colours["admin"])
    assert post(client, f"/p/{poll.id}/edit", edit_form(poll, **{f"remove-{blue.id}": "1"})).status_code == 303
    assert [o.name for o in ordered_options(fresh(poll))] == ["Red", "Green"]


def test_a_proposals_fixed_options_are_not_editable(client, colours):
    proposal = make_poll("proposal", colours["admin"], colours["group"])
    sign_in(client, colours["admin"])
    page = client.get(f"/p/{proposal.id}/edit").get_data(as_text=True)
    assert "Add options" not in page
    assert post(client, f"/p/{proposal.id}/edit", edit_form(proposal, title="Adopt it?")).status_code == 303


def test_voters_may_add_options_only_where_the_poll_lets_them(client, colours):
    poll = colours["poll"]
    sign_in(client, colours["ann"])
    assert post(client, f"/p/{poll.id}/options", {"option_name": "Teal"}).status_code == 403
    client.post("/logout")
    sign_in(client, colours["admin"])
    assert post(client, f"/p/{poll.id}/edit", edit_form(poll, voters_can_add_options="1")).status_code == 303
    client.post("/logout")
    sign_in(client, colours["ann"])
    assert 'action="/p/%d/options"' % poll.id in client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert post(client, f"/p/{poll.id}/options", {"option_name": "Teal"}).status_code == 303
    response = post(client, f"/p/{poll.id}/options", {"option_name": "teal"})
    assert response.status_code == 422 and "same name" in response.get_data(as_text=True)
    assert [o.name for o in ordered_options(fresh(poll))][-1] == "Teal"


@pytest.mark.parametrize("who", ["member", "guest", "stranger", "signed_out", "admin_of_another_group"])
def test_nobody_else_can_edit(client, colours, who):
    poll = colours["poll"]
    if who == "member":
        sign_in(client, colours["ann"])
    elif who == "guest":
        guest = UserFactory(email="guest@example.org")
        db.session.add(PollVoter(poll_id=poll.id, user_id=guest.id, email=guest.email))
        db.session.commit()
        sign_in(client, guest)
    elif who == "stranger":
        sign_in(client, UserFactory())
    elif who == "admin_of_another_group":
        from tests.factories import GroupFactory

        sign_in(client, member(GroupFactory(handle="other"), role="admin"))
    get = client.get(f"/p/{poll.id}/edit")
    assert get.status_code in (302, 303, 403, 404)
    response = post(client, f"/p/{poll.id}/edit", edit_form(poll, title="Hijacked"))
    assert response.status_code in (302, 303, 403, 404)
    assert response.status_code != 303 or "/login" in response.location
    assert fresh(poll).title == "Door colour"


def test_a_closed_poll_is_not_editable(client, colours):
    poll = colours["poll"]
    service.close_poll(actor_id=colours["admin"].id, poll_id=poll.id)
    sign_in(client, colours["admin"])
    assert client.get(f"/p/{poll.id}/edit").status_code == 403
    assert post(client, f"/p/{poll.id}/edit", edit_form(poll, title="Late")).status_code == 403
    assert fresh(poll).title == "Door colour"


def test_the_edit_form_needs_csrf(client, colours):
    poll = colours["poll"]
    sign_in(client, colours["admin"])
    response = client.post(f"/p/{poll.id}/edit", data=edit_form(poll, title="No token"))
    assert response.status_code in (400, 403)
    assert fresh(poll).title == "Door colour"
