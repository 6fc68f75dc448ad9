"""Signing in by emailed link or code, passwords, the profile."""
from __future__ import annotations

import re
from datetime import timedelta

from app.models import LoginToken, SignInEvent, User, utcnow
from tests.factories import UserFactory
from tests.helpers import post, sign_in


def _code(mail) -> str:
    return re.search(r"\b(\d{6})\b", mail.subject).group(1)


def _link(mail) -> str:
    return next(link for link in mail.links() if "/login/link/" in link)


def test_new_person_signs_up_by_following_the_emailed_link(client, outbox, db_session):
    response = post(client, "/login", {"email": "New.Person@Example.org"})
    assert response.status_code == 303
    mail = outbox.last_to("new.person@example.org")
    assert "sign-in" in mail.subject.lower() and mail.header("Auto-Submitted") == "auto-generated"
    assert db_session.query(User).count() == 0  # nothing exists until the address confirms

    path = _link(mail).replace("http://localhost", "")
    page = client.get(path)
    assert page.status_code == 200 and b"Sign in as new.person@example.org" in page.data
    assert db_session.query(User).count() == 0  # opening the link (a GET) changes nothing

    response = post(client, path)
    assert response.status_code == 303
    user = db_session.query(User).one()
    assert user.email == "new.person@example.org" and user.email_verified_at is not None
    assert client.get("/").status_code == 200 and b"Recent threads" in client.get("/").data


def test_the_six_digit_code_signs_in_too(client, outbox, db_session):
    UserFactory(email="ann@example.org", name="Ann")
    post(client, "/login", {"email": "ann@example.org"})
    code = _code(outbox.last_to("ann@example.org"))
    response = post(client, "/login/code", {"email": "ann@example.org", "code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 303 and response.location == "/"
    assert db_session.query(SignInEvent).one().method == "code"


def test_a_used_link_is_refused_with_a_clear_message(client, outbox):
    UserFactory(email="ann@example.org", name="Ann")
    post(client, "/login", {"email": "ann@example.org"})
    path = _link(outbox.last_to("ann@example.org")).replace("http://localhost", "")
    assert post(client, path).status_code == 303
    client.post("/logout", data={})  # CSRF refused: still fine, we only need a fresh client below
    other = client.application.test_client()
    response = post(other, path)
    assert response.status_code == 410
    assert b"already been used" in response.data


def test_an_expired_link_is_refused(client, outbox, db_session):
    UserFactory(email="ann@example.org", name="Ann")
    post(client, "/login", {"email": "ann@example.org"})
    path = _link(outbox.last_to("ann@example.org")).replace("http://localhost", "")
    token = db_session.query(LoginToken).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    response = client.get(path)
    assert response.status_code == 410 and b"expired" in response.data


def test_a_wrong_code_is_refused_and_five_wrong_codes_burn_it(client, outbox):
    UserFactory(email="ann@example.org", name="Ann")
    post(client, "/login", {"email": "ann@example.org"})
    code = _code(outbox.last_to("ann@example.org"))
    wrong = "000000" if code != "000000" else "111111"
    response = post(client, "/login/code", {"email": "ann@example.org", "code": wrong})
    assert response.status_code == 422 and b"not right" in response.data
    for _ in range(4):
        post(client, "/login/code", {"email": "ann@example.org", "code": wrong})
    response = post(client, "/login/code", {"email": "ann@example.org", "code": code})
    assert response.status_code == 422  # burnt: even the right code no longer works


def test_a_malformed_address_gets_a_form_error_not_a_500(client, outbox):
    response = post(client, "/login", {"email": "not an address"})
    assert response.status_code == 422
    assert b"valid email address" in response.data
    assert len(outbox) == 0


def test_sign_in_requests_are_rate_limited_per_address(client, outbox):
    for _ in range(5):
        assert post(client, "/login", {"email": "ann@example.org"}).status_code == 303
    assert post(client, "/login", {"email": "ann@example.org"}).status_code == 429
    assert len(outbox.to("ann@example.org")) == 5


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(client, outbox):
    response = client.post("/login", data={"email": "ann@example.org"})
    assert response.status_code == 400 and b"expired" in response.data
    assert len(outbox) == 0


def test_password_sign_in_uses_argon2id(client, db_session):
    user = UserFactory(email="ann@example.org", name="Ann")
    sign_in(client, user)
    assert post(client, "/account/password", {"password": "correct horse battery"}).status_code == 303
    db_session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    other = client.application.test_client()
    bad = post(other, "/login/password", {"email": "ann@example.org", "password": "wrong password!"})
    assert bad.status_code == 422 and b"do not match" in bad.data
    good = post(other, "/login/password", {"email": "ann@example.org", "password": "correct horse battery"})
    assert good.status_code == 303


def test_profile_update_validates_and_saves(client, db_session):
    user = UserFactory(email="ann@example.org", name="Ann")
    sign_in(client, user)
    bad = post(client, "/account", {"name": "Ann", "time_zone": "Mars/Olympus", "locale": "en"})
    assert bad.status_code == 422 and b"time zone" in bad.data
    too_long = post(client, "/account", {"name": "A" * 5000, "time_zone": "UTC", "locale": "en"})
    assert too_long.status_code == 422 and b"at most 100" in too_long.data
    ok = post(client, "/account", {"name": "Ann Lee", "time_zone": "Europe/Berlin", "locale": "de"})
    assert ok.status_code == 303
    db_session.refresh(user)
    assert (user.name, user.time_zone, user.locale) == ("Ann Lee", "Europe/Berlin", "de")


def test_sign_out_everywhere_ends_other_sessions(client, db_session):
    user = UserFactory(email="ann@example.org", name="Ann")
    sign_in(client, user)
    other = client.application.test_client()
    sign_in(other, user)
    post(client, "/account/sign-out-everywhere")
    assert other.get("/account").status_code == 302  # redirected to sign in


def test_logout_needs_a_post(client):
    assert client.get("/logout").status_code == 405


def test_the_account_pages_show_the_members_own_address(client, db_session):
    from tests.factories import UserFactory
    from tests.helpers import sign_in

    user = UserFactory(email="maya@example.org", name="Maya Cohen")
    sign_in(client, user)
    for path in ("/account", "/account/email"):
        page = client.get(path).get_data(as_text=True)
        assert "<strong>maya@example.org</strong>" in page, path
