"""Guests in one thread: invited by email, they read and reply there (web and mail) and see nothing
else of the group; removed, nothing works for them any more."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Comment, Poll, PollVoter, User, utcnow
from app.polls.base import ordered_options
from app.services import discussions, guests, polls
from app.services.errors import NotAllowed, NotFound
from tests.helpers import post, sign_in


def invite(club, email="guest@elsewhere.example", actor=None):
    result = guests.invite_guests(actor_id=(actor or club.ann).id, discussion_id=club.thread.id, emails=email)
    return result, db.session.scalar(select(User).where(User.email == email))


def test_the_author_invites_a_guest_who_is_mailed_the_thread_with_a_sign_in_link(club, client, outbox):
    sign_in(client, club.ann)
    response = post(client, f"/d/{club.thread.id}/guests", {"emails": "Guest@Elsewhere.example", "message": "Your view?"})
    assert response.status_code == 303
    assert "Invited as guests: guest@elsewhere.example" in client.get(response.location).text
    mail = outbox.last_to("guest@elsewhere.example")
    assert "Budget 2027" in mail.subject
    assert "Here is the draft budget." in mail.text and "Your view?" in mail.text
    assert f"http://localhost/login?next=/d/{club.thread.id}" in mail.text
    assert mail.header("Reply-To").startswith("r+")  # replying posts in the thread
    assert "Guests (1)" in client.get(f"/d/{club.thread.id}").text


def test_a_guest_reads_and_comments_on_the_web_and_sees_nothing_else_of_the_group(club, client):
    _, guest = invite(club)
    sign_in(client, guest)
    page = client.get(f"/d/{club.thread.id}")
    assert page.status_code == 200 and "You are a guest of this thread" in page.text
    assert f'href="/g/club"' not in page.text.split("<main", 1)[-1]
    assert post(client, f"/d/{club.thread.id}/comments", {"body": "Thanks for having me."}).status_code == 303
    assert post(client, f"/d/{club.thread.id}/react", {"emoji": "👍"}).status_code == 303
    assert client.get(f"/d/{club.other.id}").status_code == 404
    assert "Secret plans" not in client.get("/g/club").text
    assert client.get("/g/club/members").status_code == 403
    assert post(client, f"/d/{club.other.id}/comments", {"body": "sneaking in"}).status_code == 404
    assert post(client, "/g/club/d/new", {"title": "Mine", "body": ""}).status_code == 403
    results = client.get("/search?q=budget OR plans").text
    assert "Budget 2027" in results and "Secret plans" not in results
    assert client.get(f"/d/{club.thread.id}/feed.atom").status_code in (403, 404)


def test_a_guest_of_a_secret_groups_thread_cannot_even_find_the_group(clean_app, client, outbox):
    from tests.people.conftest import Club

    club = Club(privacy="secret")
    _, guest = invite(club)
    sign_in(client, guest)
    assert client.get(f"/d/{club.thread.id}").status_code == 200
    assert client.get("/g/club").status_code == 404
    assert client.get("/g/club/members").status_code == 404


def test_a_removed_guest_can_do_nothing_at_once(club, client):
    _, guest = invite(club)
    sign_in(client, guest)
    assert client.get(f"/d/{club.thread.id}").status_code == 200
    owner = club.thread.id
    guests.remove_guest(actor_id=club.ann.id, discussion_id=owner, user_id=guest.id)
    assert client.get(f"/d/{owner}").status_code == 404
    assert post(client, f"/d/{owner}/comments", {"body": "still here?"}).status_code == 404
    assert "Budget 2027" not in client.get("/search?q=budget").text
    with pytest.raises(NotFound):
        discussions.post_comment(actor_id=guest.id, discussion_id=owner, body="by the back door")


def test_removing_a_guest_on_the_web_takes_a_button(club, client):
    _, guest = invite(club)
    sign_in(client, club.ann)
    page = client.get(f"/d/{club.thread.id}").text
    assert f"/d/{club.thread.id}/guests/{guest.id}/remove" in page
    assert post(client, f"/d/{club.thread.id}/guests/{guest.id}/remove").status_code == 303
    assert "guest@elsewhere.example" not in client.get(f"/d/{club.thread.id}").text


def test_only_the_author_and_admins_invite_guests(club, client):
    sign_in(client, club.bob)
    assert "Invite to this thread" not in client.get(f"/d/{club.thread.id}").text
    assert post(client, f"/d/{club.thread.id}/guests", {"emails": "x@elsewhere.example"}).status_code == 403
    with pytest.raises(NotAllowed):
        invite(club, actor=club.bob)
    own = discussions.start_thread(actor_id=club.bob.id, group_id=club.group.id, title="Bob's own", body="")
    assert guests.invite_guests(actor_id=club.bob.id, discussion_id=own.id, emails="x@elsewhere.example")["invited"]


def test_inviting_members_or_guests_again_adds_nobody_and_bad_addresses_are_a_form_error(club, client, outbox):
    invite(club)
    result, _ = invite(club, email="bob@example.org, guest@elsewhere.example")
    assert result == {"invited": [], "members": ["bob@example.org"], "already": ["guest@elsewhere.example"]}
    sign_in(client, club.ann)
    response = post(client, f"/d/{club.thread.id}/guests", {"emails": "not an address"})
    assert response.status_code == 422 and "is not an email address" in response.text


def test_a_guest_follows_the_thread_by_mail(club, outbox):
    _, guest = invite(club)
    outbox.clear()
    discussions.post_comment(actor_id=club.bob.id, discussion_id=club.thread.id, body="I think we can afford it.")
    mail = outbox.last_to("guest@elsewhere.example")
    assert "I think we can afford it." in mail.text
    discussions.post_comment(actor_id=club.bob.id, discussion_id=club.other.id, body="Not for the guest.")
    assert all("Not for the guest." not in m.text for m in outbox.to("guest@elsewhere.example"))


def test_a_threads_guests_can_be_included_as_voters_of_its_polls(club, client):
    _, guest = invite(club)
    closing = utcnow() + timedelta(days=3)
    with_guests = polls.create_poll(actor_id=club.ann.id, discussion_id=club.thread.id, poll_type="proposal",
                                    title="Adopt the budget?", closing_at=closing, include_guests=True)
    members_only = polls.create_poll(actor_id=club.ann.id, discussion_id=club.thread.id, poll_type="proposal",
                                     title="Thank the treasurer?", closing_at=closing)
    db.session.expire_all()
    first, second = [o.id for o in ordered_options(db.session.get(Poll, with_guests.id))][:2]
    other_first = ordered_options(db.session.get(Poll, members_only.id))[0].id
    sign_in(client, guest)
    assert client.get(f"/p/{with_guests.id}").status_code == 200
    assert client.get(f"/p/{members_only.id}").status_code == 200  # a guest reads the thread's polls
    polls.cast_vote(actor_id=guest.id, poll_id=with_guests.id, choices={first: 1})
    with pytest.raises(NotAllowed):
        polls.cast_vote(actor_id=guest.id, poll_id=members_only.id, choices={other_first: 1})

    guests.remove_guest(actor_id=club.ann.id, discussion_id=club.thread.id, user_id=guest.id)
    assert db.session.scalar(select(PollVoter.id).where(PollVoter.user_id == guest.id)) is None
    assert client.get(f"/p/{with_guests.id}").status_code == 404
    with pytest.raises((NotAllowed, NotFound)):
        polls.cast_vote(actor_id=guest.id, poll_id=with_guests.id, choices={second: 1})


def test_a_poll_guest_and_a_thread_guest_are_the_same_kind_of_account(club):
    _, guest = invite(club)
    poll = polls.create_poll(actor_id=club.ann.id, group_id=club.group.id, poll_type="proposal", title="Lunch?",
                             closing_at=utcnow() + timedelta(days=1), voter_scope="specified",
                             voters=["guest@elsewhere.example", "voter@elsewhere.example"])
    voters = set(db.session.scalars(select(PollVoter.user_id).where(PollVoter.poll_id == poll.id)))
    assert guest.id in voters  # the thread guest's account, not a second one
    assert db.session.scalar(select(User).where(User.email == "voter@elsewhere.example")).email_verified_at is None
    assert len(list(db.session.scalars(select(Comment)))) == 0


def test_a_guests_home_page_lists_their_thread_and_nothing_else(club, client):
    _, guest = invite(club)
    sign_in(client, guest)
    home = client.get("/").text
    assert "Budget 2027" in home and "Secret plans" not in home


def test_a_guests_mail_has_a_guests_footer_whose_link_mutes_the_thread(club, client, outbox):
    _, guest = invite(club)
    discussions.post_comment(actor_id=club.bob.id, discussion_id=club.thread.id, body="A new line in the budget.")
    mail = outbox.last_to("guest@elsewhere.example")
    assert "You are a guest of this thread." in mail.text and "You are a member" not in mail.text
    assert "Unsubscribe from Club" not in mail.text
    mute = next(link for link in mail.links() if "/m/mute_thread/" in link).replace("http://localhost", "")
    assert post(client, mute).status_code in (200, 303)
    outbox.clear()
    discussions.post_comment(actor_id=club.bob.id, discussion_id=club.thread.id, body="And another.")
    assert not outbox.to("guest@elsewhere.example")
