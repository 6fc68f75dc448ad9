"""Single sign-on against a real OpenID provider on loopback (tests/signin/oidc_provider.mjs)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import OidcIdentity, SignInEvent, User
from tests.factories import UserFactory
from tests.helpers import post
from tests.signin.conftest import at_provider, forms_of, local


def start(client, next_path: str = "") -> str:
    answer = post(client, "/login/sso/test", {"next": next_path})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    return answer.headers["Location"]


def come_back(client, callback_url: str):
    """The browser arrives at our callback (a GET that changes nothing), then presses Continue."""
    page = client.get(local(callback_url))
    assert page.status_code == 200
    form = next(f for f in forms_of(page.get_data(as_text=True)) if f["action"] == "/login/sso/test/callback")
    return client.post("/login/sso/test/callback", data=form["fields"])


def signed_in_as(client) -> str | None:
    page = client.get("/account")
    if page.status_code != 200:
        return None
    user = db.session.scalar(select(User).join(SignInEvent).order_by(SignInEvent.id.desc()).limit(1))
    return user.email if user is not None and user.email in page.get_data(as_text=True) else None


def test_the_sign_in_page_offers_the_provider_and_the_flow_uses_pkce_state_and_nonce(sso, client):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Example SSO" in page
    query = parse_qs(urlsplit(start(client)).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["scope"] == ["openid email profile"]


def test_a_verified_address_signs_in_the_existing_member_and_links_the_identity(sso, client):
    ada = UserFactory(email="ada@example.org", name="Ada")
    db.session.commit()
    answer = come_back(client, at_provider(start(client, "/account/email"), "ada@example.org"))
    assert answer.status_code == 303 and answer.headers["Location"] == "/account/email"
    assert signed_in_as(client) == "ada@example.org"
    identity = db.session.scalar(select(OidcIdentity))
    assert identity.user_id == ada.id and identity.subject == "ada@example.org"
    assert db.session.scalar(select(SignInEvent.method).order_by(SignInEvent.id.desc()).limit(1)) == "oidc"


def test_a_new_person_gets_an_account_named_by_the_provider(sso, client):
    answer = come_back(client, at_provider(start(client), "grace@example.org"))
    assert answer.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "grace@example.org"))
    assert user is not None and user.name == "Grace" and user.email_verified_at is not None


def test_an_unverified_address_is_not_linked_to_the_account_that_has_it(sso, client):
    UserFactory(email="ada@example.org", name="Ada")
    db.session.commit()
    answer = come_back(client, at_provider(start(client), "unverified:ada@example.org"))
    assert answer.status_code == 403
    assert "has not confirmed that ada@example.org is your address" in answer.get_data(as_text=True)
    assert db.session.scalar(select(OidcIdentity)) is None
    assert client.get("/account").status_code in (302, 303)  # not signed in


def test_a_state_this_browser_was_not_given_is_refused(sso, client, app):
    callback = at_provider(start(client), "ada@example.org")
    other = app.test_client()  # another browser, handed the first one's answer
    post(other, "/login/sso/test")  # it started a sign-in of its own: a different state
    answer = come_back(other, callback)
    assert answer.status_code == 400 and "not started in this browser" in answer.get_data(as_text=True)
    assert db.session.scalar(select(User)) is None


def test_a_forged_state_is_refused(sso, client):
    callback = at_provider(start(client), "ada@example.org")
    page = client.get(local(callback))
    fields = next(f for f in forms_of(page.get_data(as_text=True)) if f["action"] == "/login/sso/test/callback")["fields"]
    fields["state"] = "x" * 43
    answer = client.post("/login/sso/test/callback", data=fields)
    assert answer.status_code == 400
    assert db.session.scalar(select(User)) is None


def test_a_replayed_answer_is_refused_the_second_time(sso, client, app):
    callback = at_provider(start(client), "ada@example.org")
    assert come_back(client, callback).status_code == 303
    replayer = app.test_client()
    # The same answer again, in a browser holding that state: the sign-in row is used up.
    with replayer.session_transaction() as session:
        session["sso_state"] = parse_qs(urlsplit(callback).query)["state"][0]
    answer = come_back(replayer, callback)
    assert answer.status_code == 400 and "already used" in answer.get_data(as_text=True)


def test_an_id_token_with_another_sign_ins_nonce_is_refused(sso, client):
    """A real ID token from the provider, checked against a nonce it was not issued for."""
    from authlib.integrations.requests_client import OAuth2Session

    from app.services import sso as service

    config = sso.config["OIDC_PROVIDERS"]["test"]
    meta = service.metadata("test")
    session = OAuth2Session("quorum", config["client_secret"], scope="openid email",
                            redirect_uri="http://localhost/login/sso/test/callback", code_challenge_method="S256")
    verifier = "v" * 64
    url, state = session.create_authorization_url(meta["authorization_endpoint"], nonce="first-nonce",
                                                  code_verifier=verifier)
    callback = at_provider(url, "ada@example.org")
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token = session.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
    assert service.verify_id_token("test", token["id_token"], nonce="first-nonce")["sub"] == "ada@example.org"
    with pytest.raises(service.ProviderError):
        service.verify_id_token("test", token["id_token"], nonce="another-nonce")
    tampered = token["id_token"][:-4] + ("AAAA" if not token["id_token"].endswith("AAAA") else "BBBB")
    with pytest.raises(service.ProviderError):
        service.verify_id_token("test", tampered, nonce="first-nonce")
    sso.config["OIDC_PROVIDERS"]["test"] = {**config, "client_id": "someone-else"}
    with pytest.raises(service.ProviderError):  # the audience is another client
        service.verify_id_token("test", token["id_token"], nonce="first-nonce")


def test_a_provider_whose_discovery_names_another_issuer_is_not_trusted(sso, client, oidc_issuer):
    port = urlsplit(oidc_issuer).port
    sso.config["OIDC_PROVIDERS"]["test"]["issuer"] = f"http://localhost:{port}"  # same server, another name
    answer = post(client, "/login/sso/test")
    assert answer.status_code == 502
    assert "names another issuer than the one configured" in answer.get_data(as_text=True)


def test_signup_invite_refuses_a_new_person_and_domain_allows_only_its_domains(sso, client, app):
    sso.config["SIGNUP"] = {"mode": "invite", "domains": ()}
    answer = come_back(client, at_provider(start(client), "grace@example.org"))
    assert answer.status_code == 403 and "admin to invite you" in answer.get_data(as_text=True)
    sso.config["SIGNUP"] = {"mode": "domain", "domains": ("example.net",)}
    assert come_back(client, at_provider(start(client), "grace@example.org")).status_code == 403
    other = app.test_client()
    assert come_back(other, at_provider(start(other), "hedy@example.net")).status_code == 303
    assert [u.email for u in db.session.scalars(select(User))] == ["hedy@example.net"]


def test_sso_only_refuses_emailed_links_and_passwords_on_the_web(sso, client, outbox):
    from app.services import accounts

    UserFactory(email="ada@example.org", name="Ada")
    db.session.commit()
    link = accounts.issue_sign_in_link(email="ada@example.org").split("localhost", 1)[1]
    sso.config["SIGNIN_METHODS"] = ("oidc",)
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Example SSO" in page
    assert "Email me a sign-in link" not in page and "Sign in with a password" not in page
    assert "passkey" not in page.lower()
    assert post(client, "/login", {"email": "ada@example.org"}).status_code == 403
    assert len(outbox) == 0
    assert post(client, link).status_code == 403
    assert post(client, "/login/password", {"email": "ada@example.org", "password": "x" * 12}).status_code == 403
    assert client.get("/account").status_code in (302, 303)
    assert come_back(client, at_provider(start(client), "ada@example.org")).status_code == 303


def test_an_sso_sign_in_still_asks_for_the_second_factor(sso, client):
    from datetime import datetime, timezone

    UserFactory(email="ada@example.org", name="Ada", totp_enabled_at=datetime.now(timezone.utc))
    db.session.commit()
    answer = come_back(client, at_provider(start(client), "ada@example.org"))
    assert answer.status_code == 303 and answer.headers["Location"] == "/login/2fa"
    assert client.get("/account").status_code in (302, 303)


def test_an_unreachable_provider_is_a_message_not_an_error_page(sso, client):
    sso.config["OIDC_PROVIDERS"]["test"]["issuer"] = "http://127.0.0.1:9"  # nothing listens there
    answer = post(client, "/login/sso/test")
    assert answer.status_code == 502 and "could not reach the sign-in provider" in answer.get_data(as_text=True)
    assert post(client, "/login/sso/nosuch").status_code == 404


def test_end_to_end_through_a_live_server_with_a_real_http_client(sso, localhost_server):
    """One person's browser (a requests session with its cookies): our sign-in page, the provider's
    login and consent pages, back to our Continue form, signed in."""
    UserFactory(email="ada@example.org", name="Ada")
    db.session.commit()
    browser = requests.Session()
    page = browser.get(localhost_server + "/login", timeout=10)
    form = next(f for f in forms_of(page.text) if f["action"] == "/login/sso/test")
    answer = browser.post(localhost_server + form["action"], data=form["fields"], timeout=10)
    for _ in range(6):
        form = next(f for f in forms_of(answer.text) if f["method"] == "post")
        fields = dict(form["fields"])
        if answer.url.startswith(localhost_server):  # back with us: the Continue form
            assert form["action"] == "/login/sso/test/callback"
            answer = browser.post(localhost_server + form["action"], data=fields, timeout=10)
            break
        if "login" in fields:
            fields.update(login="ada@example.org", password="any password")
        answer = browser.post(requests.compat.urljoin(answer.url, form["action"]), data=fields, timeout=10)
    assert answer.status_code == 200 and answer.url == localhost_server + "/"
    assert "ada@example.org" in browser.get(localhost_server + "/account", timeout=10).text
