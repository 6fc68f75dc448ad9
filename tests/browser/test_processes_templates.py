"""Decision processes, templates and search filters in a real browser, with JavaScript on and off: start a
consent decision from its template, vote with the meaning beside each option, reorder the group's templates
with the up/down buttons, and search for the reason with the filters."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import sign_in_by_email
from tests.factories import GroupFactory, MembershipFactory, UserFactory


def test_a_consent_decision_from_its_template_to_search_with_and_without_javascript(new_page, outbox, db_session):
    group = GroupFactory(name="Riverside", handle="riverside")
    ann = UserFactory(email="ann@example.org", name="Ann")
    ben = UserFactory(email="ben@example.org", name="Ben")
    MembershipFactory(group=group, user=ann, role="admin")
    MembershipFactory(group=group, user=ben)
    db_session.commit()

    page = new_page(js=True)
    sign_in_by_email(page, outbox, "ann@example.org")
    page.goto("/g/riverside/p/new")
    page.get_by_role("link", name="Consent decision").click()
    expect(page.get_by_label("Decision process")).to_have_value("consent")
    page.get_by_label("Title").fill("Consent: open the garden on Sundays")
    page.get_by_role("button", name="Start the proposal").click()
    expect(page.get_by_role("heading", name="Consent: open the garden on Sundays")).to_be_visible()
    expect(page.get_by_text("safe enough to try")).to_be_visible()
    poll_url = page.url

    nojs = new_page(js=False)
    sign_in_by_email(nojs, outbox, "ben@example.org")
    nojs.goto(poll_url)
    nojs.get_by_label("Object", exact=True).check()
    nojs.get_by_label("Reason").fill("The neighbours sleep late on Sundays")
    nojs.get_by_role("button", name="Vote").click()
    expect(nojs.get_by_text("Your vote is counted")).to_be_visible()

    # The admin moves the retrospective to the top, without JavaScript.
    admin_nojs = new_page(js=False)
    sign_in_by_email(admin_nojs, outbox, "ann@example.org")
    admin_nojs.goto("/g/riverside/templates")
    admin_nojs.locator("#template-retrospective").get_by_role("button", name="Move up").click()
    admin_nojs.locator("#template-retrospective").get_by_role("button", name="Move up").click()
    expect(admin_nojs.locator("ol.templates > li").first).to_contain_text("Retrospective")

    # Search with the filters: a GET form, JavaScript off.
    admin_nojs.goto("/search")
    admin_nojs.get_by_label("Search threads").fill("neighbours")
    admin_nojs.get_by_label("Kind").select_option("poll")
    admin_nojs.get_by_label("Open or closed").select_option("open")
    admin_nojs.get_by_role("button", name="Search").click()
    expect(admin_nojs.get_by_text("vote reason by Ben")).to_be_visible()
    admin_nojs.get_by_label("Kind").select_option("outcome")
    admin_nojs.get_by_role("button", name="Search").click()
    expect(admin_nojs.get_by_role("heading", name="0 results for “neighbours”")).to_be_visible()
