"""Review findings 11 and 12: invitations expire and never open an existing account; tokens never
reach a log; per-IP limits see the client behind TRUSTED_PROXIES, and only then."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from app.extensions import db
from app.models import Invitation, Membership, utcnow
from app.redaction import redact
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import post, sign_in

REPO = Path(__file__).resolve().parents[2]


def _invite(client, outbox, email: str) -> str:
    group = GroupFactory(handle="garden", name="Garden club", privacy="closed")
    admin = member(group, role="admin", name="Ada")
    sign_in(client, admin)
    post(client, "/g/garden/invitations", {"emails": email})
    link = next(link for link in outbox.last_to(email).links() if "/invitations/" in link)
    return "/" + link.split("/", 3)[3]


def test_an_invitation_expires(clean_app, client, outbox):
    path = _invite(client, outbox, "new@example.org")
    fresh = clean_app.test_client()
    assert fresh.get(path).status_code == 200
    days = clean_app.config["INVITATION_DAYS"]
    assert days == 14
    db.session.execute(db.update(Invitation).values(last_sent_at=utcnow() - timedelta(days=days, minutes=1)))
    db.session.commit()
    page = fresh.get(path)
    assert page.status_code == 410 and "expired" in page.text
    assert post(fresh, path, {"name": "New"}).status_code == 410
    assert db.session.scalar(db.select(Invitation.accepted_at)) is None


def test_accepting_does_not_sign_in_an_existing_account(clean_app, client, outbox):
    UserFactory(email="bea@example.org", name="Bea")
    path = _invite(client, outbox, "bea@example.org")
    holder = clean_app.test_client()  # whoever has the (perhaps forwarded) link
    response = post(holder, path)
    assert response.status_code == 303 and response.headers["Location"].startswith("/login?next=")
    assert holder.get("/account").status_code == 302, "not signed in"
    assert db.session.scalar(db.select(Invitation.accepted_at)) is None
    # Bea signs in her own way and is brought back to accept.
    post(holder, "/login", {"email": "bea@example.org", "next": path})
    code = re.search(r"\b(\d{6})\b", outbox.last_to("bea@example.org").subject).group(1)
    back = post(holder, "/login/code", {"email": "bea@example.org", "code": code})
    assert back.headers["Location"] == path
    assert post(holder, path).headers["Location"] == "/g/garden"
    assert db.session.scalar(db.select(Membership.id).join(Membership.user).where(
        Membership.group.has(handle="garden"), Membership.user.has(email="bea@example.org")))


def test_a_new_address_still_joins_and_signs_in_with_the_invitation(clean_app, client, outbox):
    path = _invite(client, outbox, "new@example.org")
    holder = clean_app.test_client()
    assert post(holder, path, {"name": "Newton"}).status_code == 303
    assert holder.get("/account").status_code == 200


def test_every_url_with_a_token_is_redacted(clean_app):
    secret = "S3cr3tT0ken-value_xyz"
    rules = [r for r in clean_app.url_map.iter_rules() if {"token", "link"} & set(r.arguments)]
    assert len(rules) >= 8
    for rule in rules:
        values = {arg: secret if arg in ("token", "link") else (1 if "id" in arg else "unsubscribe_group")
                  for arg in rule.arguments}
        with clean_app.test_request_context():
            from flask import url_for

            path = url_for(rule.endpoint, **values)
        for text in (path, f"GET {path}?x=1 HTTP/1.1", f'"https://quorum.test{path}"'):
            assert secret not in redact(text), (rule.rule, redact(text))
    assert redact("/g/garden/members") == "/g/garden/members"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_writes_no_token_to_its_access_log(tmp_path):
    from app.supervisor import gunicorn_args

    port = _free_port()
    args = gunicorn_args({"WEB_LISTEN": f"127.0.0.1:{port}", "WEB_WORKERS": 1})
    logger = args[args.index("--logger-class") + 1]
    log = tmp_path / "access.log"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                             "--access-logfile", str(log), "--logger-class", logger,
                             "tests.security.wsgi_echo:app"], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/login/link/LinkSecret1?next=/",
                                                 headers={"Referer": f"http://127.0.0.1:{port}/invitations/InvSecret2"})
                urllib.request.urlopen(request, timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/m/mute_thread/MailSecret3/done", timeout=2).read()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/p/7/vote/VoteSecret4", timeout=2).read()
        deadline = time.monotonic() + 10
        while log.read_text().count("\n") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(10)
    written = log.read_text()
    assert written.count("[token]") >= 4, written
    for secret in ("LinkSecret1", "InvSecret2", "MailSecret3", "VoteSecret4"):
        assert secret not in written


# --- TRUSTED_PROXIES (finding 12) -------------------------------------------------------------

def _sign_in_requests(client, forwarded_for) -> list[int]:
    statuses = []
    for n in range(21):
        headers = {"X-Forwarded-For": forwarded_for(n)} if forwarded_for else {}
        statuses.append(post(client, "/login", {"email": f"person{n}@example.org"}, headers=headers).status_code)
    return statuses


def test_behind_trusted_proxies_each_visitor_has_their_own_limit(clean_app):
    from app.security import trust_proxies

    original = clean_app.wsgi_app
    clean_app.config["TRUSTED_PROXIES"] = 1
    trust_proxies(clean_app)
    try:
        client = clean_app.test_client()
        # Twenty-one visitors behind the one proxy: nobody is locked out.
        assert 429 not in _sign_in_requests(client, lambda n: f"198.51.100.{n + 1}")
        # One visitor is still limited, whatever they put in front of the proxy's entry.
        statuses = _sign_in_requests(client, lambda n: f"203.0.113.{n}, 192.0.2.9")
        assert statuses[-1] == 429
    finally:
        clean_app.wsgi_app = original
        clean_app.config["TRUSTED_PROXIES"] = 0


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(clean_app):
    assert clean_app.config["TRUSTED_PROXIES"] == 0
    client = clean_app.test_client()
    statuses = _sign_in_requests(client, lambda n: f"198.51.100.{n + 1}")
    assert statuses[-1] == 429, "a client cannot pick its own address"
