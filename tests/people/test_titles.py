"""Membership titles ("Treasurer"): set by a group's admins on the members page, shown beside names."""
from __future__ import annotations

import pytest

from app.services import discussions, memberships
from app.services.errors import NotAllowed
from tests.helpers import post, sign_in


def test_an_admin_gives_a_member_a_title_shown_on_the_members_page_comments_and_mail(club, client, outbox):
    sign_in(client, club.ann)
    response = post(client, f"/g/club/members/{club.bob.id}/title", {"title": "  Treasurer "})
    assert response.status_code == 303
    assert '<span class="pill">Treasurer</span>' in client.get("/g/club/members").text
    discussions.post_comment(actor_id=club.bob.id, discussion_id=club.thread.id, body="The accounts balance.")
    page = client.get(f"/d/{club.thread.id}").text
    assert 'Bob Member</strong> <span class="pill">Treasurer</span>' in page
    mail = outbox.last_to("ann@example.org")
    assert "Bob Member (Treasurer) commented" in mail.text and "Bob Member (Treasurer)" in mail.html
    assert "Treasurer" not in (mail.header("From") or "")  # the From name stays the person's name

    post(client, f"/g/club/members/{club.bob.id}/title", {"title": ""})
    assert "Treasurer" not in client.get(f"/d/{club.thread.id}").text  # cached comment markup follows the title


def test_only_admins_set_titles_and_a_long_title_is_a_form_error(club, client):
    sign_in(client, club.bob)
    assert "Save title" not in client.get("/g/club/members").text
    assert post(client, f"/g/club/members/{club.cleo.id}/title", {"title": "Boss"}).status_code == 403
    with pytest.raises(NotAllowed):
        memberships.set_title(actor_id=club.bob.id, group_id=club.group.id, user_id=club.bob.id, title="Boss")
    sign_in(client, club.ann)
    response = post(client, f"/g/club/members/{club.bob.id}/title", {"title": "x" * 61})
    assert response.status_code == 422 and "at most 60 characters" in response.text
    assert post(client, f"/g/club/members/{club.olga.id}/title", {"title": "Guest"}).status_code == 404
