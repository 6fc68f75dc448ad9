"""Running a poll in a real browser, with JavaScript on and off: a proposal with requirements to pass
and a reason prompt, "None of the above" in a ranked choice, reminding one person, adding a
standalone poll to a thread, an outcome's review date."""
from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect

from app.models import utcnow
from app.services.polls import create_poll
from tests.browser.conftest import sign_in_by_email
from tests.factories import DiscussionFactory, GroupFactory, MembershipFactory, UserFactory


def test_running_a_poll_with_javascript_on_and_off(new_page, outbox, db_session):
    group = GroupFactory(name="Riverside", handle="riverside")
    ann = UserFactory(email="ann@example.org", name="Ann")
    ben = UserFactory(email="ben@example.org", name="Ben")
    MembershipFactory(group=group, user=ann, role="admin")
    MembershipFactory(group=group, user=ben)
    thread = DiscussionFactory(group=group, author=ann, title="Roof repairs")
    ranked = create_poll(actor_id=ann.id, group_id=group.id, poll_type="ranked_choice", title="Paint colour",
                         options=["Red", "Blue", "Green"], closing_at=utcnow() + timedelta(days=3),
                         allow_none_of_the_above=True)
    db_session.commit()

    page = new_page(js=True)
    sign_in_by_email(page, outbox, "ann@example.org")
    page.goto("/g/riverside/p/new?type=proposal")
    page.get_by_label("Title").fill("Fix the roof")
    page.get_by_label("Reason prompt", exact=True).fill("What would it cost you?")
    page.get_by_label("Participation needed (% of those who may vote)").fill("100")
    page.get_by_role("button", name="Start the proposal").click()
    expect(page.get_by_role("heading", name="Fix the roof")).to_be_visible()
    expect(page.get_by_text("What would it cost you?")).to_be_visible()
    page.get_by_label("Agree", exact=True).check()
    page.get_by_role("button", name="Vote").click()  # htmx swaps the section in place
    expect(page.get_by_role("heading", name="Your vote", exact=True)).to_be_visible()
    expect(page.get_by_text("1 of 2 voted (50%)")).to_be_visible()
    expect(page.get_by_text("it would not pass")).to_be_visible()

    # JavaScript off: remind Ben by name from the poll page, then Ben chooses "None of the above".
    nojs = new_page(js=False)
    sign_in_by_email(nojs, outbox, "ann@example.org")
    nojs.goto(page.url)
    nojs.get_by_label("Remind one person").select_option(label="Ben")
    nojs.get_by_role("button", name="Remind them").click()
    expect(nojs.get_by_text("Reminder sent.")).to_be_visible()
    assert "reminds you to vote" in outbox.last_to("ben@example.org").text

    bens = new_page(js=False)
    sign_in_by_email(bens, outbox, "ben@example.org")
    bens.goto(f"/p/{ranked.id}")
    bens.get_by_label("None of the above (rank nothing)").check()
    bens.get_by_role("button", name="Vote").click()
    expect(bens.get_by_text("None of the above: 1 of 1 vote")).to_be_visible()

    # JavaScript on: the author puts the standalone poll into the thread.
    page.goto(f"/p/{ranked.id}")
    page.get_by_label("Add this poll to a thread").select_option(label="Roof repairs")
    page.get_by_role("button", name="Add to the thread").click()
    expect(page.get_by_text("The poll is in the thread now")).to_be_visible()
    page.goto(f"/d/{thread.id}")
    expect(page.get_by_role("link", name="Paint colour")).to_be_visible()

    # Closed: the outcome with a review date.
    page.goto(f"/p/{ranked.id}")
    page.get_by_role("button", name="Close the poll now").click()
    page.get_by_label("What was decided").fill("We leave it as it is.")
    page.get_by_label("Review date").fill((date.today() + timedelta(days=30)).isoformat())
    page.get_by_role("button", name="Publish the outcome").click()
    expect(page.get_by_text("To be reviewed")).to_be_visible()
