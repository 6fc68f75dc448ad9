"""In Chromium, JavaScript on and off: a member confirms mail sent in their name from the emailed
link, and adds, proves and removes a second address on their account page."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import Comment, UserAlias
from mail.processing import process_stored
from mail.store import accept
from tests.browser.conftest import sign_in_by_email
from tests.email_actions.conftest import message
from tests.factories import DiscussionFactory, GroupFactory, member


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_confirming_an_unproven_reply_from_the_emailed_link(new_page, outbox, db_session, js):
    group = GroupFactory(handle="garden", name="Garden")
    dee = member(group, email="dee@example.org", name="Dee")
    thread = DiscussionFactory(group=group, author=dee, title="Garden day")
    from app.email.addresses import reply_address

    to = reply_address(dee, "discussion", thread.id)
    row = accept(message(sender="dee@example.org", to=to, body="Count me in\n", signed=False),
                 envelope_from="dee@example.org", recipients=[to], peer="127.0.0.66", helo="laptop",
                 domain="quorum.test")
    process_stored(row.id)
    db_session.commit()
    assert db_session.scalar(select(func.count(Comment.id))) == 0
    link = next(u for u in outbox.last_to("dee@example.org").links() if "/confirm/" in u)

    page = new_page(js=js)
    page.goto(link)
    assert page.get_by_role("heading", name="Did you send this?").is_visible()
    assert page.get_by_text("Count me in").is_visible()
    page.get_by_role("button", name="Yes, I sent it: go ahead").click()
    page.get_by_role("heading", name="Confirmed").wait_for()
    db_session.expire_all()
    assert [c.body for c in db_session.scalars(select(Comment))] == ["Count me in"]


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_adding_proving_and_removing_an_address(new_page, outbox, db_session, js):
    group = GroupFactory(handle="garden", name="Garden")
    member(group, email="dee@example.org", name="Dee")
    db_session.commit()
    page = new_page(js=js)
    sign_in_by_email(page, outbox, "dee@example.org")
    page.goto("/account")
    page.get_by_role("link", name="Your addresses").click()
    page.get_by_label("Email address").fill("dee@work.example")
    page.get_by_role("button", name="Send a confirmation link to it").click()
    assert page.get_by_text("We mailed a link to dee@work.example").is_visible()
    assert db_session.scalar(select(func.count(UserAlias.id))) == 0

    link = next(u for u in outbox.last_to("dee@work.example").links() if "/prove/" in u)
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("heading", name="Confirmed").wait_for()
    page.goto("/account/addresses")
    assert page.get_by_text("dee@work.example").first.is_visible()
    page.get_by_role("button", name="Remove").click()
    assert page.get_by_text("dee@work.example is no longer one of your addresses").is_visible()
    db_session.expire_all()
    assert db_session.scalar(select(func.count(UserAlias.id))) == 0
