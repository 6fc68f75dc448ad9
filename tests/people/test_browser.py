"""In Chromium: an author invites a guest from the thread page, the guest signs in from the mail and
replies (JavaScript off), and with JavaScript on typing "@" in the comment box shows who can be named."""
from __future__ import annotations

import pytest

from tests.browser.conftest import _server, live_server, new_page, page, sign_in_by_email  # noqa: F401 (fixtures)


@pytest.fixture
def scene(live_server, club, db_session):
    db_session.commit()
    return club


def test_a_guest_is_invited_signs_in_from_the_mail_and_replies_without_javascript(scene, new_page, outbox):
    ann = new_page(js=False)
    sign_in_by_email(ann, outbox, "ann@example.org")
    ann.goto(f"/d/{scene.thread.id}")
    ann.get_by_text("Guests (0)").click()
    ann.get_by_label("Invite guests by email").fill("gwen@work.example")
    ann.get_by_role("button", name="Invite to this thread").click()
    assert ann.get_by_text("Invited as guests: gwen@work.example").is_visible()

    sign_in_link = next(link for link in outbox.last_to("gwen@work.example").links() if "/login?next=" in link)
    gwen = new_page(js=False)
    gwen.goto(sign_in_link)
    gwen.get_by_label("Email address").first.fill("gwen@work.example")
    gwen.get_by_role("button", name="Email me a sign-in link").click()
    gwen.wait_for_url("**/login/code**")
    link = next(link for link in outbox.last_to("gwen@work.example").links() if "/login/link/" in link)
    gwen.goto(link)
    gwen.get_by_role("button", name="Sign in").click()
    gwen.wait_for_url("**/account?welcome=1")  # a new account is asked for a name first
    gwen.goto(f"/d/{scene.thread.id}")
    assert gwen.get_by_text("You are a guest of this thread").is_visible()
    gwen.get_by_label("Your comment").fill("Glad to be asked.")
    gwen.get_by_role("button", name="Post comment").click()
    assert gwen.get_by_text("Glad to be asked.").is_visible()


def test_typing_a_mention_shows_the_suggestion_list(scene, page, outbox):
    sign_in_by_email(page, outbox, "bob@example.org")
    page.goto(f"/d/{scene.thread.id}")
    page.get_by_label("Your comment").press_sequentially("Thanks @cl")
    suggestions = page.locator("#mentions ul.suggestions")
    suggestions.wait_for()
    assert "@cleo" in suggestions.inner_text() and "@gus" not in suggestions.inner_text()
