"""Passkeys in Chromium with its virtual authenticator: add one, sign out, sign in with it, require
it after an emailed link, rename it, remove it."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Passkey, SignInEvent
from tests.factories import UserFactory


def sign_in_by_link(page, outbox, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email address").first.fill(email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.wait_for_url("**/login/code**")
    link = next(link for link in outbox.last_to(email).links() if "/login/link/" in link)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: "/account" not in url)
    assert page.get_by_role("link", name="Sign in", exact=True).is_visible()


def test_register_sign_out_sign_in_with_the_passkey_require_it_and_remove_it(passkey_browser, outbox):
    page = passkey_browser
    UserFactory(email="ada@example.org", name="Ada")
    db.session.commit()
    sign_in_by_link(page, outbox, "ada@example.org")
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto("/account")
    page.get_by_role("link", name="Passkeys").click()
    page.get_by_label("A name for it").fill("Test laptop")
    page.get_by_role("button", name="Add a passkey").click()
    page.get_by_text("Passkey \u201cTest laptop\u201d added").wait_for()
    cdp, authenticator_id = page.authenticator
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]

    sign_out(page)
    page.goto("/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/account")
    assert "ada@example.org" in page.content()
    assert db.session.scalar(select(SignInEvent.method).order_by(SignInEvent.id.desc()).limit(1)) == "passkey"

    # The only factor: the emailed link alone no longer signs in; it asks for the passkey.
    page.goto("/account/passkeys")
    page.get_by_role("button", name="Require a passkey at every sign-in").click()
    page.get_by_text("Every sign-in now asks for your passkey").wait_for()
    sign_out(page)
    sign_in_by_link(page, outbox, "ada@example.org")
    page.wait_for_url("**/login/2fa")
    page.goto("/account")
    assert "/login" in page.url  # not signed in yet
    page.goto("/login/2fa")
    page.get_by_role("button", name="Use your passkey").click()
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto("/account/passkeys")
    assert page.get_by_role("heading", name="Your passkeys").is_visible()

    # Name it, then (no longer required) remove it: it signs no one in after that.
    page.get_by_label("Passkey name").fill("Old laptop")
    page.get_by_role("button", name="Rename").click()
    page.get_by_text("Passkey renamed.").wait_for()
    page.get_by_role("button", name="Remove Old laptop").click()
    assert "only passkey and you require one" in page.content()
    page.get_by_role("button", name="Stop requiring a passkey").click()
    page.get_by_role("button", name="Remove Old laptop").click()
    page.get_by_text("Passkey removed").wait_for()
    assert db.session.scalar(select(Passkey)) is None
    sign_out(page)
    page.goto("/login")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_text("That passkey did not work here").wait_for()
    page.goto("/account")
    assert "/login" in page.url


def test_without_javascript_the_pages_say_passkeys_need_it_and_offer_the_rest(browser, localhost_server, outbox):
    context = browser.new_context(base_url=localhost_server, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/login")
        assert "Passkeys need JavaScript" in page.content()
        assert not page.get_by_role("button", name="Sign in with a passkey").is_visible()
        assert page.get_by_role("button", name="Email me a sign-in link").is_visible()
    finally:
        context.close()
