"""axe-core finds no serious or critical accessibility problems on the main pages."""
from __future__ import annotations

from app.services import discussions, groups
from tests.browser.conftest import sign_in_by_email, walk_pages
from tests.factories import UserFactory
from tests.stewardship.conftest import rich_group  # noqa: F401  (a group with something in every table)


def _violations(page, source: str) -> list[str]:
    page.add_script_tag(content=source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_main_pages_have_no_serious_accessibility_violations(new_page, axe_source, outbox, db_session):
    ann = UserFactory(email="ann@example.org", name="Ann")
    bob = UserFactory(email="bob@example.org", name="Bob")
    group = groups.create_group(actor_id=ann.id, name="Garden club", handle="garden", privacy="closed",
                                description="Growing *things*.")
    groups.add_member(group_id=group.id, user_id=bob.id)
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Spring planting", body="Which beds?")
    first = discussions.post_comment(actor_id=bob.id, discussion_id=thread.id, body="Herbs first.")
    discussions.post_comment(actor_id=ann.id, discussion_id=thread.id, body="Agreed.", parent_id=first.id)
    db_session.commit()

    page = new_page(js=True, bypass_csp=True)  # axe is injected as an inline script
    problems = {}
    for path in ("/", "/login"):
        page.goto(path)
        problems[path] = _violations(page, axe_source)
    sign_in_by_email(page, outbox, "ann@example.org")
    for path in ("/", "/groups/new", "/g/garden", "/g/garden/members", "/g/garden/settings", "/g/garden/d/new",
                 f"/d/{thread.id}", f"/d/{thread.id}/history", f"/d/{thread.id}/edit", "/search?q=herbs"):
        page.goto(path)
        problems[path] = _violations(page, axe_source)
    problems = {path: found for path, found in problems.items() if found}
    assert problems == {}, "\n".join(f"{p}: {v}" for p, found in problems.items() for v in found)


def test_every_page_has_no_serious_accessibility_violations(browser, live_server, clean_app, rich_group, outbox,  # noqa: F811
                                                            axe_source):
    """axe on every page of the URL map (conftest.walk_pages), as a group admin."""
    problems, checked = {}, 0
    # axe is injected as an inline script, so the page's CSP is bypassed.
    for url, page in walk_pages(browser, live_server, rich_group, clean_app, outbox, bypass_csp=True):
        checked += 1
        found = _violations(page, axe_source)
        if found:
            problems[url] = found
    assert checked > 30
    assert problems == {}, "\n".join(f"{p}: {v}" for p, found in problems.items() for v in found)
