"""A proposal in a thread, in a real browser: start it, vote with and without JavaScript, see the chart,
close it, write the outcome."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in_by_email
from tests.factories import DiscussionFactory, GroupFactory, MembershipFactory, UserFactory


def test_proposal_in_a_thread_from_start_to_outcome(new_page, outbox, db_session):
    group = GroupFactory(name="Riverside", handle="riverside")
    ann = UserFactory(email="ann@example.org", name="Ann")
    ben = UserFactory(email="ben@example.org", name="Ben")
    MembershipFactory(group=group, user=ann, role="admin")
    MembershipFactory(group=group, user=ben)
    thread = DiscussionFactory(group=group, author=ann, title="Roof repairs")
    db_session.commit()

    page = new_page(js=True)
    sign_in_by_email(page, outbox, "ann@example.org")
    page.goto(f"/d/{thread.id}")
    page.get_by_role("link", name="Start a poll in this thread").click()
    page.get_by_role("link", name="Proposal").click()
    page.get_by_label("Title").fill("Accept the second quote")
    page.get_by_role("button", name="Start the proposal").click()
    expect(page.get_by_role("heading", name="Accept the second quote")).to_be_visible()
    poll_url = page.url

    # With JavaScript: htmx swaps the poll section in place.
    page.get_by_label("Agree", exact=True).check()
    page.get_by_role("button", name="Vote").click()
    expect(page.get_by_role("heading", name="Your vote", exact=True)).to_be_visible()
    assert page.url == poll_url

    # Without JavaScript: a plain form post and a redirect.
    nojs = new_page(js=False)
    sign_in_by_email(nojs, outbox, "ben@example.org")
    nojs.goto(poll_url)
    nojs.get_by_label("Disagree", exact=True).check()
    nojs.get_by_label("Reason").fill("Too expensive")
    nojs.get_by_role("button", name="Vote").click()
    expect(nojs.get_by_text("Your vote is counted")).to_be_visible()

    # The chart: server-drawn SVG bars with counts and percentages.
    page.reload()
    expect(page.locator("svg.bar").first).to_be_visible()
    agree_row = page.locator("table.results tr", has_text="Agree").first
    expect(agree_row).to_contain_text("1")
    expect(agree_row).to_contain_text("50%")
    expect(page.get_by_text("Too expensive")).to_be_visible()

    page.get_by_role("button", name="Close the poll now").click()
    expect(page.get_by_text(re.compile("Closed"))).to_be_visible()
    page.get_by_label("What was decided").fill("We accept the second quote.")
    page.get_by_role("button", name="Publish the outcome").click()
    expect(page.get_by_role("heading", name="Outcome", exact=True)).to_be_visible()
    expect(page.get_by_text("We accept the second quote.")).to_be_visible()
    page.goto(f"/d/{thread.id}")
    expect(page.get_by_role("link", name="Accept the second quote")).to_be_visible()


def test_a_reason_written_on_several_lines_shows_on_several_lines(new_page, outbox, db_session):
    from datetime import timedelta

    from app.models import utcnow
    from app.services.polls import cast_vote, create_poll

    group = GroupFactory(name="Riverside", handle="riverside")
    ann = UserFactory(email="ann@example.org", name="Ann")
    MembershipFactory(group=group, user=ann, role="admin")
    poll = create_poll(actor_id=ann.id, poll_type="proposal", title="Paint the shed", group_id=group.id,
                       closing_at=utcnow() + timedelta(days=3))
    agree = next(o for o in poll.options if o.name == "Agree")
    cast_vote(actor_id=ann.id, poll_id=poll.id, choices={agree.id: 1}, reason="Green, please.\nNot the blue again.")
    page = new_page(js=False)
    sign_in_by_email(page, outbox, "ann@example.org")
    page.goto(f"/p/{poll.id}")
    shown = page.locator(".reason", has_text="Green, please.").first
    assert shown.inner_text().splitlines() == ["Green, please.", "Not the blue again."]


def test_a_meeting_poll_with_twelve_voters_fits_a_375_pixel_phone(new_page, outbox, db_session):
    from app.services.polls import cast_vote
    from tests.decisions.support import make_poll, setup_group, slots, vote_for

    group, admin, people = setup_group(12)
    poll = make_poll("meeting", admin, group, slots=slots(5))
    for n, person in enumerate(people):
        cast_vote(actor_id=person.id, poll_id=poll.id, choices=vote_for(poll, n)[0])
    db_session.commit()
    page = new_page(js=True)
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in_by_email(page, outbox, admin.email)
    page.goto(f"/p/{poll.id}")
    expect(page.locator("table.results.meeting th", has_text=people[11].name)).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
