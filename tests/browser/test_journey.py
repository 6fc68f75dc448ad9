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


def test_a_form_error_on_a_long_thread_is_in_view_on_a_phone_without_javascript(browser, live_server, outbox, db_session):
    """An empty comment at the bottom of a 40-comment thread: after the reload (no JavaScript) the
    error summary is in the first 375×667 screen, and its link takes the member to the field."""
    from tests.factories import CommentFactory, DiscussionFactory, GroupFactory, member

    group = GroupFactory(handle="garden", name="Garden")
    ann = member(group, email="ann@example.org", name="Ann")
    thread = DiscussionFactory(group=group, author=ann, title="Long thread")
    for n in range(40):
        CommentFactory(discussion=thread, author=ann, body=f"Comment {n}\n\nwith a second paragraph.")
    db_session.commit()
    context = browser.new_context(base_url=live_server, java_script_enabled=False,
                                  viewport={"width": 375, "height": 667})
    page = context.new_page()
    sign_in_by_email(page, outbox, "ann@example.org")
    page.goto(f"/d/{thread.id}")
    page.get_by_role("button", name="Post comment").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem").first
    box = summary.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 667, box
    summary.get_by_role("link").first.click()
    assert page.url.endswith("#f-body")
    field = page.locator("#f-body").bounding_box()
    assert field is not None and 0 <= field["y"] < 667  # scrolled to the field
    context.close()
