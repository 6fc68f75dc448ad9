"""Signing in: a real OpenID provider on loopback (npm's oidc-provider, started once per module),
and a person's walk through its login and consent pages with a real HTTP client."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.helpers import linked_to, serving

REPO = Path(__file__).resolve().parents[2]
PROVIDER_JS = Path(__file__).with_name("oidc_provider.mjs")
CLIENT_SECRET = "test-only-client-secret-0123456789"
REDIRECT = "http://localhost/login/sso/test/callback"  # BASE_URL of the test app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def oidc_issuer(_localhost_server):
    """The issuer address of a real OpenID provider running on loopback for this module (it knows
    two ways back: the test client's BASE_URL and this module's live server)."""
    if shutil.which("node") is None or not (REPO / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("node or node_modules/oidc-provider is absent (npm install --no-save oidc-provider@9): "
                    "single sign-on tests skipped")
    port = _free_port()
    redirects = f"{REDIRECT},{_localhost_server}/login/sso/test/callback"
    process = subprocess.Popen(["node", str(PROVIDER_JS), str(port), redirects, CLIENT_SECRET], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if requests.get(issuer + "/.well-known/openid-configuration", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("the OpenID provider did not start: " + (process.stdout.read() or b"").decode()[-2000:])
    yield issuer
    process.terminate()
    process.wait(timeout=5)


@pytest.fixture
def sso(clean_app, oidc_issuer):
    """The test app with one provider named "test" configured (and the methods/SIGNUP restored after)."""
    from app.services import sso as sso_service

    saved = {key: clean_app.config.get(key) for key in ("OIDC_PROVIDERS", "SIGNIN_METHODS", "SIGNUP")}
    clean_app.config["OIDC_PROVIDERS"] = {"test": {"issuer": oidc_issuer, "client_id": "quorum",
                                                   "client_secret": CLIENT_SECRET, "label": "Example SSO"}}
    sso_service._cache.clear()
    yield clean_app
    clean_app.config.update(saved)
    sso_service._cache.clear()


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                               "fields": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            if tag == "input" and attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.forms[-1]["fields"].setdefault(attrs["name"], attrs.get("value") or "")


def forms_of(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def at_provider(start_url: str, login: str, browser: requests.Session | None = None) -> str:
    """Walk the provider's pages as a person would (type the login name, press Continue on consent),
    following its redirects, until it sends the browser back to us; returns that address."""
    browser = browser or requests.Session()
    method, url, data = "get", start_url, None
    for _ in range(12):
        answer = browser.request(method, url, data=data, allow_redirects=False, timeout=10)
        if answer.is_redirect:
            url = urljoin(url, answer.headers["Location"])
            if url.startswith("http://localhost/"):
                return url
            method, data = "get", None
            continue
        assert answer.status_code == 200, (answer.status_code, answer.text[:500])
        form = next(f for f in forms_of(answer.text) if f["method"] == "post")
        data = dict(form["fields"])
        if "login" in data:
            data.update(login=login, password="any password")
        method, url = "post", urljoin(url, form["action"])
    raise AssertionError("the provider never sent the browser back")


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


@pytest.fixture(scope="module")
def _localhost_server(app):
    """The app on a free loopback port, addressed as http://localhost:PORT: WebAuthn takes a host
    name as the relying party's id, never an IP address."""
    with serving(app, "localhost") as url:
        yield url


@pytest.fixture
def localhost_server(clean_app, _localhost_server):
    with linked_to(clean_app, _localhost_server) as url:
        yield url


@pytest.fixture
def passkey_browser(browser, localhost_server):
    """A browser context with JavaScript on and Chromium's virtual authenticator (DevTools Protocol):
    a platform authenticator that keeps discoverable credentials and verifies the person."""
    context = browser.new_context(base_url=localhost_server)
    context.set_default_timeout(10_000)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    page.authenticator = (cdp, authenticator["authenticatorId"])
    yield page
    context.close()
