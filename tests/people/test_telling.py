"""Choosing who is told (web forms), @group mentions and the suggestion list: a name only ever
reaches people who may read the thread."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Discussion, Membership, Notification, utcnow
from app.services import discussions, guests, polls
from tests.helpers import post, sign_in

HX = {"HX-Request": "true"}


def digest_only(club, *people):
    for person in people:
        db.session.scalar(select(Membership).where(Membership.user_id == person.id,
                                                   Membership.group_id == club.group.id)).volume = "digest"
    db.session.commit()


def test_starting_a_thread_on_the_web_tells_the_chosen_people_at_once_and_the_thread_shows_it(club, client, outbox):
    digest_only(club, club.bob, club.cleo)
    sign_in(client, club.ann)
    form = client.get("/g/club/d/new").text
    assert 'name="notify_groups" value="club"' in form and 'name="notify_groups" value="garden"' in form
    response = post(client, "/g/club/d/new", {"title": "Rota", "body": "Who can do Saturdays?",
                                              "notify_groups": "garden", "notify": "bob@example.org, olga@example.org"})
    assert response.status_code == 303
    page = client.get(response.location).text
    assert "Not told: olga@example.org" in page  # not a member: ignored, and the author is told so
    assert "Told directly (2)" in page and "Bob Member" in page and "via @garden" in page
    assert "Who can do Saturdays?" in outbox.last_to("bob@example.org").text
    assert "Who can do Saturdays?" in outbox.last_to("cleo@example.org").text
    assert not outbox.to("olga@example.org") and not outbox.to("gus@example.org")


def test_the_whole_group_can_be_told_at_once(club, client, outbox):
    digest_only(club, club.bob, club.cleo)
    sign_in(client, club.ann)
    post(client, "/g/club/d/new", {"title": "AGM date", "body": "", "notify_groups": "club"})
    assert outbox.to("bob@example.org") and outbox.to("cleo@example.org")
    thread = db.session.scalar(select(Discussion).where(Discussion.title == "AGM date"))
    from app.models import Event

    reasons = {n.user_id: n.reason for n in db.session.scalars(select(Notification).join(Event).where(
        Event.discussion_id == thread.id))}
    assert reasons == {club.bob.id: "notify", club.cleo.id: "notify"}  # Gus is only in the garden


def test_a_bad_name_in_the_notify_field_is_a_form_error(club, client):
    sign_in(client, club.ann)
    response = post(client, "/g/club/d/new", {"title": "Oops", "body": "", "notify": "bob@example.org, #bob!"})
    assert response.status_code == 422 and "neither an email address nor a @name" in response.text
    assert db.session.scalar(select(Discussion).where(Discussion.title == "Oops")) is None


def test_a_muted_member_named_to_be_told_gets_no_mail_but_the_bell(club, outbox):
    db.session.scalar(select(Membership).where(Membership.user_id == club.bob.id)).volume = "mute"
    db.session.commit()
    thread = discussions.start_thread(actor_id=club.ann.id, group_id=club.group.id, title="Quiet", body="",
                                      notify="@bob")
    assert not outbox.to("bob@example.org")
    assert db.session.scalar(select(Notification.reason).where(Notification.user_id == club.bob.id)
                             .order_by(Notification.id.desc()).limit(1)) == "notify"
    assert thread.notify_left_out == []


def test_a_poll_can_tell_named_people_at_once(club, client, outbox):
    digest_only(club, club.bob)
    poll = polls.create_poll(actor_id=club.ann.id, discussion_id=club.thread.id, poll_type="proposal",
                             title="Approve the budget?", closing_at=utcnow() + timedelta(days=2), notify="@bob")
    assert "Approve the budget?" in outbox.last_to("bob@example.org").text
    sign_in(client, club.ann)
    assert "Told directly (1)" in client.get(f"/d/{club.thread.id}").text
    assert poll.notify_left_out == []


def test_group_mentions_reach_the_subgroups_members_who_may_read_the_thread(club, outbox):
    discussions.post_comment(actor_id=club.bob.id, discussion_id=club.thread.id, body="@garden can you check the seeds line?")
    reasons = {n.user_id: n.reason for n in db.session.scalars(select(Notification).where(
        Notification.reason == "mention"))}
    assert reasons == {club.cleo.id: "mention"}  # Gus is in the garden but may not read the club's thread
    assert not outbox.to("gus@example.org")


def test_in_an_open_group_a_group_mention_reaches_subgroup_members_who_are_not_members(clean_app, outbox):
    from tests.people.conftest import Club

    club = Club(privacy="open")
    discussions.post_comment(actor_id=club.bob.id, discussion_id=club.thread.id, body="Thoughts, @garden?")
    mentioned = set(db.session.scalars(select(Notification.user_id).where(Notification.reason == "mention")))
    assert mentioned == {club.cleo.id, club.gus.id}  # anyone may read an open group's thread
    assert outbox.to("gus@example.org")


def test_a_person_mention_reaches_a_guest_of_the_thread_but_not_an_outsider(club, outbox):
    guests.invite_guests(actor_id=club.ann.id, discussion_id=club.thread.id, emails="gwen@elsewhere.example")
    discussions.post_comment(actor_id=club.bob.id, discussion_id=club.thread.id, body="@gwen and @olga, see above")
    mentioned = set(db.session.scalars(select(Notification.user_id).where(Notification.reason == "mention")))
    from app.models import User

    guest = db.session.scalar(select(User).where(User.email == "gwen@elsewhere.example"))
    assert mentioned == {guest.id}


def test_the_suggestion_list_offers_only_names_the_reader_may_mention(club, client):
    guests.invite_guests(actor_id=club.ann.id, discussion_id=club.thread.id, emails="gwen@elsewhere.example")
    sign_in(client, club.bob)
    fragment = client.get(f"/d/{club.thread.id}/mentions?body=Thanks+@g", headers=HX).text
    assert "<ul" in fragment and "@garden" in fragment and "@gwen" in fragment
    assert "@gus" not in fragment  # may not read the thread
    assert "<html" not in fragment  # a small fragment, not a page
    page = client.get(f"/d/{club.thread.id}/mentions?q=an")  # without htmx: a plain page
    assert "@ann" in page.text and "<title>" in page.text
    assert client.get(f"/d/{club.thread.id}/mentions?body=no+mention+here", headers=HX).text.strip() == ""
    sign_in(client, club.ann)
    notify_list = client.get("/g/club/mentions?notify=cleo@example.org,+bob", headers=HX).text
    assert "@bob" in notify_list and "@cleo" not in notify_list
    sign_in(client, club.gus)
    assert client.get(f"/d/{club.thread.id}/mentions?q=a").status_code == 404


def test_the_suggestion_list_is_wired_to_the_comment_box_and_works_without_it(club, client):
    sign_in(client, club.bob)
    page = client.get(f"/d/{club.thread.id}").text
    assert f'hx-get="/d/{club.thread.id}/mentions"' in page and 'id="mentions"' in page


def test_a_guest_is_offered_only_names_already_in_the_thread_and_sees_no_notices(club, client):
    from app.models import User

    guests.invite_guests(actor_id=club.ann.id, discussion_id=club.thread.id, emails="gwen@elsewhere.example")
    polls.create_poll(actor_id=club.ann.id, discussion_id=club.thread.id, poll_type="proposal", title="Told?",
                      closing_at=utcnow() + timedelta(days=2), notify="@garden")
    discussions.post_comment(actor_id=club.cleo.id, discussion_id=club.thread.id, body="Hello all")
    guest = db.session.scalar(select(User).where(User.email == "gwen@elsewhere.example"))
    sign_in(client, guest)
    offered = client.get(f"/d/{club.thread.id}/mentions?q=", headers=HX).text
    assert "@ann" in offered and "@cleo" in offered  # the author and a commenter
    assert "@bob" not in offered and "@garden" not in offered and "@club" not in offered
    assert "Told directly" not in client.get(f"/d/{club.thread.id}").text
    sign_in(client, club.bob)
    assert "Told directly (1)" in client.get(f"/d/{club.thread.id}").text
