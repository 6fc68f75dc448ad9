"""The whole journey in a real browser, with JavaScript and without: create a group, invite by email,
accept from the .eml, comment, react, edit; the first member sees it unread, then read."""
from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in_by_email
from tests.factories import UserFactory


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_invite_comment_react_edit_and_read(new_page, outbox, js, db_session):
    UserFactory(email="ann@example.org", name="Ann")
    db_session.commit()
    ann = new_page(js=js)
    sign_in_by_email(ann, outbox, "ann@example.org")

    # Ann creates a group and starts a thread.
    ann.get_by_role("link", name="Start a group").click()
    ann.get_by_label("Name").fill("Garden club")
    ann.get_by_label("Handle").fill("garden")
    ann.get_by_role("button", name="Create group").click()
    ann.wait_for_url("**/g/garden")
    ann.get_by_role("link", name="Start a thread").click()
    ann.get_by_label("Title").fill("Spring planting")
    ann.get_by_label("What would you like to discuss?").fill("Which **beds** first?")
    ann.get_by_role("button", name="Start thread").click()
    ann.wait_for_url("**/d/*")
    thread_url = ann.url
    assert ann.locator("strong", has_text="beds").is_visible()

    # Ann invites Bob by email.
    ann.goto("/g/garden/members")
    ann.get_by_label("Email addresses").fill("bob@example.org")
    ann.get_by_role("button", name="Send invitations").click()
    assert ann.get_by_text("Invitation sent to bob@example.org").is_visible()

    # Bob accepts from the email in the outbox.
    mail = outbox.last_to("bob@example.org")
    link = next(link for link in mail.links() if "/invitations/" in link)
    bob = new_page(js=js)
    bob.goto(link)
    bob.get_by_label("Your name").fill("Bob")
    bob.get_by_role("button", name="Accept the invitation").click()
    bob.wait_for_url("**/g/garden")
    assert bob.get_by_text("Welcome to Garden club").is_visible()

    # Bob comments, reacts and edits.
    bob.get_by_role("link", name="Spring planting").click()
    bob.get_by_label("Your comment").fill("The herb bed, I think.")
    bob.get_by_role("button", name="Post comment").click()
    comment = bob.locator("article.comment", has_text="The herb bed, I think.")
    comment.wait_for()
    comment.get_by_role("button", name="👍").click()
    comment = bob.locator("article.comment", has_text="The herb bed, I think.")
    comment.get_by_role("button", name="👍 1").wait_for()
    assert comment.get_by_role("button", name="👍 1").get_attribute("aria-pressed") == "true"
    comment.get_by_role("link", name="Edit").click()
    bob.get_by_label("Edit your comment").fill("The herb bed, then the roses.")
    bob.get_by_role("button", name="Save").click()
    edited = bob.locator("article.comment", has_text="then the roses")
    edited.wait_for()
    assert edited.get_by_role("link", name="edited").is_visible()
    if js:  # htmx swapped everything in place: still on the thread page, never reloaded away
        assert bob.url.split("#")[0].endswith(thread_url.split("/", 3)[3])

    # Ann sees it unread on her dashboard, reads it, and then it is read.
    ann.goto("/")
    row = ann.locator("ul.threads li", has_text="Spring planting")
    assert "1 unread" in row.inner_text()
    row.get_by_role("link", name="Spring planting").click()
    assert ann.get_by_text("New since your last visit").is_visible()
    assert ann.get_by_text("The herb bed, then the roses.").is_visible()
    ann.goto("/")
    assert "unread" not in ann.locator("ul.threads li", has_text="Spring planting").inner_text()
