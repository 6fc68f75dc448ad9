"""Review findings 1, 3 and 10: signing out ends the session everywhere it is kept; the second
factor's state lives on the server; the page after sign-in is never another site."""
from __future__ import annotations

import re
import time

import pyotp
import pytest

from app.extensions import db
from app.models import SecondFactorChallenge, User
from tests.factories import UserFactory
from tests.helpers import csrf_token, post
from tests.stewardship.test_totp import next_code, turn_on


def sign_in_by_code(client, outbox, email: str, next_path: str = ""):
    post(client, "/login", {"email": email, "next": next_path})
    code = re.search(r"\b(\d{6})\b", outbox.last_to(email).subject).group(1)
    return post(client, "/login/code", {"email": email, "code": code})


def cookies(client) -> dict[str, str]:
    return {c.key: c.value for c in client._cookies.values()}


def replay(app, jar: dict[str, str]):
    other = app.test_client()
    for name, value in jar.items():
        other.set_cookie(name, value)
    return other


def test_sign_out_ends_the_session_and_the_remember_cookie(clean_app, client, outbox):
    UserFactory(email="ana@example.org", name="Ana")
    sign_in_by_code(client, outbox, "ana@example.org")
    before = cookies(client)
    assert {"session", "remember_token"} <= set(before)
    assert client.get("/account").status_code == 200

    assert post(client, "/logout").status_code == 303
    assert "remember_token" not in cookies(client), "the remember cookie is deleted"
    assert client.get("/account").status_code == 302

    # Cookies copied before signing out sign nobody back in, alone or together.
    for jar in (before, {"remember_token": before["remember_token"]}, {"session": before["session"]}):
        assert replay(clean_app, jar).get("/account").status_code == 302, jar.keys()


def test_sign_out_everywhere_ends_other_browsers(clean_app, client, outbox):
    UserFactory(email="ana@example.org", name="Ana")
    sign_in_by_code(client, outbox, "ana@example.org")
    laptop = clean_app.test_client()
    sign_in_by_code(laptop, outbox, "ana@example.org")
    copied = cookies(laptop)
    post(client, "/account/sign-out-everywhere")
    assert laptop.get("/account").status_code == 302
    assert replay(clean_app, copied).get("/account").status_code == 302


def test_a_csrf_token_from_before_sign_in_does_not_survive_it(clean_app, client, outbox):
    UserFactory(email="ana@example.org", name="Ana")
    client.get("/login")
    planted = csrf_token(client)  # what an attacker who fixed the session would know
    sign_in_by_code(client, outbox, "ana@example.org")
    refused = client.post("/account", data={"csrf_token": planted, "name": "Mallory", "time_zone": "UTC",
                                            "locale": "en"})
    assert refused.status_code == 400
    assert db.session.scalar(db.select(User.name).where(User.email == "ana@example.org")) == "Ana"
    # And signing out drops the signed-in token too.
    token = csrf_token(client)
    post(client, "/logout")
    assert client.post("/login", data={"csrf_token": token, "email": "ana@example.org"}).status_code == 400


def test_the_code_page_url_does_not_carry_the_address(clean_app, client, outbox):
    response = post(client, "/login", {"email": "ana@example.org"})
    assert response.headers["Location"] == "/login/code"
    assert "ana@example.org" in client.get("/login/code").text


# --- The second factor (finding 3) --------------------------------------------------------

@pytest.fixture
def bea_with_2fa(clean_app, client):
    bea = UserFactory(email="bea@example.org", name="Bea")
    secret, codes = turn_on(client, bea)
    return bea, secret, codes


def test_no_two_factor_secret_or_code_travels_in_the_cookie(clean_app, client):
    from flask.sessions import SecureCookieSessionInterface

    bea = UserFactory(email="bea@example.org", name="Bea")
    from tests.helpers import sign_in

    sign_in(client, bea)
    post(client, "/account/2fa/setup")
    page = client.get("/account/2fa")
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page.text).group(1)
    response = post(client, "/account/2fa", {"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.text)
    serializer = SecureCookieSessionInterface().get_signing_serializer(clean_app)
    stored = str(serializer.loads(cookies(client)["session"]))
    assert secret not in stored and not any(code in stored for code in codes)
    assert secret not in (db.session.get(User, bea.id).totp_secret or "")


def test_a_totp_code_works_once(clean_app, bea_with_2fa, outbox):
    _, secret, _ = bea_with_2fa
    code = next_code(secret)
    first = clean_app.test_client()
    sign_in_by_code(first, outbox, "bea@example.org")
    assert post(first, "/login/2fa", {"code": code}).status_code == 303
    second = clean_app.test_client()
    sign_in_by_code(second, outbox, "bea@example.org")
    assert post(second, "/login/2fa", {"code": code}).status_code == 422, "the same code again is refused"


def test_replaying_the_cookie_does_not_reset_the_lockout(clean_app, bea_with_2fa, outbox):
    _, secret, _ = bea_with_2fa
    browser = clean_app.test_client()
    sign_in_by_code(browser, outbox, "bea@example.org")
    saved = cookies(browser)
    for _ in range(5):
        replay(clean_app, saved)  # each guess from the cookie as it was before any failure
        guesser = replay(clean_app, saved)
        post(guesser, "/login/2fa", {"code": "000000"})
    # The sign-in is spent, whatever cookie is shown: even the right code needs a new first factor.
    late = replay(clean_app, saved)
    assert post(late, "/login/2fa", {"code": next_code(secret)}).headers["Location"] == "/login"
    assert late.get("/account").status_code == 302


def test_an_account_limit_holds_across_sign_ins(clean_app, bea_with_2fa, outbox):
    _, secret, _ = bea_with_2fa
    for n in range(2):  # ten wrong codes in two sign-ins, from two addresses (per-IP limits aside)
        browser = clean_app.test_client()
        browser.environ_base["REMOTE_ADDR"] = f"127.0.0.{10 + n}"
        sign_in_by_code(browser, outbox, "bea@example.org")
        for _ in range(5):
            post(browser, "/login/2fa", {"code": "000000"})
    browser = clean_app.test_client()
    browser.environ_base["REMOTE_ADDR"] = "127.0.0.20"
    sign_in_by_code(browser, outbox, "bea@example.org")
    refused = post(browser, "/login/2fa", {"code": next_code(secret)})
    assert refused.headers["Location"] == "/login" and browser.get("/account").status_code == 302


def test_the_waiting_second_factor_step_expires(clean_app, bea_with_2fa, outbox):
    _, secret, _ = bea_with_2fa
    browser = clean_app.test_client()
    sign_in_by_code(browser, outbox, "bea@example.org")
    from datetime import timedelta

    from app.models import utcnow

    db.session.execute(db.update(SecondFactorChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert post(browser, "/login/2fa", {"code": next_code(secret)}).headers["Location"] == "/login"
    assert browser.get("/account").status_code == 302


# --- Where sign-in sends you (finding 10) ----------------------------------------------------

HOSTILE_NEXT = [
    "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r/evil.example", "\t//evil.example", "/%2F/evil.example", "/%2f%2fevil.example",
    "/%5C/evil.example", "/%5c%5cevil.example", "/%09/evil.example", "https://evil.example", "http:evil.example",
    "javascript:alert(1)", "data:text/html,hi", "evil.example", "/\u3002evil.example", "/\uff0f\uff0fevil.example",
    "/\u2044\u2044evil.example", "\x00/", "/%00", "/" + "a" * 300, "https:/evil.example", " //evil.example",
    "/.//evil.example", "//evil.example/%2e%2e", "/\x7f/evil.example", "/%0d%0aSet-Cookie:x=1",
]


@pytest.mark.parametrize("hostile", HOSTILE_NEXT)
def test_sign_in_never_redirects_off_site(clean_app, client, outbox, hostile):
    UserFactory(email="ana@example.org", name="Ana")
    response = sign_in_by_code(client, outbox, "ana@example.org", next_path=hostile)
    assert response.status_code == 303
    location = response.headers["Location"]
    from urllib.parse import urlsplit

    assert all(0x20 < ord(ch) < 0x7F for ch in location), repr(location)
    # Resolve it as a lenient browser would (tabs and newlines dropped, backslashes read as slashes).
    from urllib.parse import unquote, urljoin

    for seen in (location, unquote(location)):
        lenient = re.sub(r"[\t\n\r]", "", seen).replace("\\", "/")
        assert urlsplit(urljoin("https://quorum.test/login/code", lenient)).netloc == "quorum.test", location
        assert not lenient.startswith("//")


def test_a_plain_next_path_survives_sign_in(clean_app, client, outbox):
    UserFactory(email="ana@example.org", name="Ana")
    response = sign_in_by_code(client, outbox, "ana@example.org", next_path="/d/12?page=2")
    assert response.headers["Location"] == "/d/12?page=2"


def test_hostile_next_on_the_login_page_is_not_echoed(clean_app, client):
    for hostile in HOSTILE_NEXT:
        response = client.get("/login", query_string={"next": hostile})
        assert response.status_code in (200, 400), hostile  # 400: a NUL byte, refused before any view
