"""SIGNUP: who may create an account by themselves, and no way to tell a member's address from a
stranger's by asking to sign in."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Discussion, InboundMessage, LoginToken, User
from app.services import held_mail
from tests.email_actions.conftest import garden, message, send, smtp_server  # noqa: F401 - fixtures
from tests.factories import UserFactory
from tests.helpers import post


@pytest.fixture
def signup(clean_app):
    saved = clean_app.config.get("SIGNUP")

    def set_to(mode: str, *domains: str):
        clean_app.config["SIGNUP"] = {"mode": mode, "domains": domains}

    yield set_to
    clean_app.config["SIGNUP"] = saved


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)


def ask_to_sign_in(app, email: str):
    """One browser asking for a link, then showing the page it is sent to: (status, location, page)."""
    browser = app.test_client()
    answer = post(browser, "/login", {"email": email})
    page = browser.get(answer.headers["Location"])
    return answer.status_code, answer.headers["Location"], page.status_code, _without_tokens(page.get_data(as_text=True))


def test_under_invite_a_stranger_is_sent_nothing_and_sees_exactly_what_a_member_sees(signup, clean_app, outbox):
    signup("invite")
    UserFactory(email="ada@example.org", name="Ada")
    db.session.commit()
    member = ask_to_sign_in(clean_app, "ada@example.org")
    stranger = ask_to_sign_in(clean_app, "eve@example.org")
    assert member[:3] == stranger[:3] == (303, "/login/code", 200)
    assert member[3].replace("ada@example.org", "ADDRESS") == stranger[3].replace("eve@example.org", "ADDRESS")
    assert len(outbox.to("ada@example.org")) == 1 and outbox.to("eve@example.org") == []
    # Even a lucky code makes no account: the token was never sent, and it is refused when used.
    token = db.session.scalar(select(LoginToken).where(LoginToken.email == "eve@example.org"))
    from app.services import accounts
    from app.services.errors import NotAllowed

    with pytest.raises(NotAllowed):
        accounts._complete(token, method="code", ip=None, user_agent=None)
    assert db.session.scalar(select(User).where(User.email == "eve@example.org")) is None
    login_page = clean_app.test_client().get("/login").get_data(as_text=True)
    assert "New accounts here are by invitation" in login_page and "New here?" not in login_page


def test_under_domain_only_those_domains_get_an_account_by_the_emailed_link(signup, client, clean_app, outbox):
    signup("domain", "example.org", "example.net")
    post(client, "/login", {"email": "grace@example.net"})
    link = next(link for link in outbox.last_to("grace@example.net").links() if "/login/link/" in link)
    assert post(client, link.split("localhost", 1)[1]).status_code == 303
    assert db.session.scalar(select(User.id).where(User.email == "grace@example.net")) is not None
    post(client, "/login", {"email": "mallory@elsewhere.example"})
    assert outbox.to("mallory@elsewhere.example") == []
    assert "addresses at example.org, example.net" in clean_app.test_client().get("/login").get_data(as_text=True)


def test_under_open_a_new_address_still_gets_its_link(signup, client, outbox):
    signup("open")
    post(client, "/login", {"email": "new@example.org"})
    assert len(outbox.to("new@example.org")) == 1


def test_a_stranger_writing_to_a_group_gets_no_account_outside_the_domains(signup, garden, send):  # noqa: F811
    signup("domain", "example.org")
    to = "garden@quorum.test"
    row = send(message(sender="dee@work.example", to=to, subject="Seeds", body="Who has seeds?"), to=to,
               envelope_from="dee@work.example")
    assert row.status == "held"
    held_mail.post_once(garden.ada, group=garden.group, inbound_id=row.id)
    db.session.expire_all()
    assert db.session.scalar(select(User.id).where(User.email == "dee@work.example")) is None
    assert db.session.scalar(select(Discussion.id).where(Discussion.title == "Seeds")) is None
    stored = db.session.get(InboundMessage, row.id)
    assert stored.action == "refused" and "SIGNUP" in stored.reason


def test_settings_are_read_and_bad_values_refused():
    from app import config

    assert config._signup("domain:Example.org, example.net") == {"mode": "domain", "domains": ("example.org", "example.net")}
    assert config._signin_methods("oidc") == ("oidc",)
    for bad in ("sometimes", "domain:"):
        with pytest.raises(ValueError):
            config._signup(bad)
    with pytest.raises(ValueError):
        config._signin_methods("email,magic")
    with pytest.raises(ValueError):
        config._oidc_providers({"OIDC_PROVIDERS": "corp"}.get)  # no issuer, no client id
    providers = config._oidc_providers({"OIDC_PROVIDERS": "corp", "OIDC_CORP_ISSUER": "https://id.example/",
                                        "OIDC_CORP_CLIENT_ID": "q"}.get)
    assert providers == {"corp": {"issuer": "https://id.example", "client_id": "q", "client_secret": "",
                                  "label": "Corp"}}
