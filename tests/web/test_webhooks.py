"""Outgoing webhooks, end to end: an admin adds one on the page, members act, and a real HTTP
receiver on loopback gets each chosen event, signed (JSON) or shaped for Slack, Discord, Teams or
Matrix; failures are retried, recorded, and a webhook that keeps failing is turned off with a mail
to the admins; redirects are never followed; private addresses are refused unless allowed."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Webhook, WebhookDelivery, utcnow
from app.services import discussions, webhooks
from app.services import polls as poll_service
from app.services.errors import Invalid
from tests.factories import OUTSIDER_ROLES, GroupFactory, member, person_as
from tests.helpers import post, sign_in


class Receiver:
    """A real HTTP server on loopback that records every request and answers as told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.location = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def json(self, n: int) -> dict:
        return json.loads(self.requests[n]["body"])


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def club(clean_app, monkeypatch):
    monkeypatch.setitem(clean_app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    monkeypatch.setitem(clean_app.config, "WEBHOOK_DISABLE_AFTER", 2)
    group = GroupFactory(handle="club", name="Club", privacy="closed")
    admin = member(group, role="admin", name="Ada Admin", email="ada@example.org")
    bea = member(group, name="Bea", email="bea@example.org")
    return {"group": group, "admin": admin, "bea": bea}


def _add(club, url, fmt="json", events=None):
    return webhooks.add_webhook(actor_id=club["admin"].id, group_id=club["group"].id, url=url, format=fmt,
                                events=events or list(webhooks.WEBHOOK_EVENTS))


def _deliveries():
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def _verify(secret: str, request: dict) -> bool:
    headers = request["headers"]
    mac = hmac.new(secret.encode(), headers["X-Quorum-Timestamp"].encode() + b"." + request["body"], hashlib.sha256)
    return hmac.compare_digest(headers["X-Quorum-Signature"], "sha256=" + mac.hexdigest())


def test_an_admin_adds_a_webhook_and_every_chosen_event_arrives_signed(client, club, receiver):
    sign_in(client, club["admin"])
    answer = post(client, "/g/club/webhooks", {"url": receiver.url + "/hook?x=1", "format": "json",
                                                "events": list(webhooks.WEBHOOK_EVENTS)})
    assert answer.status_code == 303
    page = client.get("/g/club/webhooks").get_data(as_text=True)
    secret = page.split("Signing secret: <code>")[1].split("</code>")[0]

    admin, bea = club["admin"], club["bea"]
    thread = discussions.start_thread(actor_id=admin.id, group_id=club["group"].id, title="Garden plans",
                                      body="Let us dig")
    discussions.post_comment(actor_id=bea.id, discussion_id=thread.id, body="Yes **please**")
    poll = poll_service.create_poll(actor_id=admin.id, discussion_id=thread.id, poll_type="proposal",
                                    title="Dig on Sunday?", closing_at=utcnow() + timedelta(days=2))
    poll_service.close_poll(actor_id=admin.id, poll_id=poll.id)
    poll_service.set_outcome(actor_id=admin.id, poll_id=poll.id, statement="We dig on Sunday.")

    kinds = [r["headers"]["X-Quorum-Event"] for r in receiver.requests]
    assert kinds == ["discussion_started", "comment_posted", "poll_created", "poll_closed", "outcome_created"]
    assert all(r["path"] == "/hook?x=1" for r in receiver.requests)
    assert all(_verify(secret, r) for r in receiver.requests)
    assert not _verify("another secret", receiver.requests[0])
    started, comment = receiver.json(0), receiver.json(1)
    assert started["thread"] == {"id": thread.id, "title": "Garden plans", "url": f"http://localhost/d/{thread.id}",
                                 "text": "Let us dig"}
    assert started["actor"] == "Ada Admin" and started["group"]["handle"] == "club"
    assert comment["comment"]["text"] == "Yes **please**" and comment["actor"] == "Bea"
    assert receiver.json(4)["outcome"] == {"statement": "We dig on Sunday."}
    assert "stances" not in json.dumps([receiver.json(n) for n in range(5)])  # never votes
    rows = _deliveries()
    assert [(d.status, d.response_status, d.attempts) for d in rows] == [("delivered", 200, 1)] * 5
    page = client.get("/g/club/webhooks").get_data(as_text=True)
    assert page.count("delivered") == 5 and "HTTP 200" in page


@pytest.mark.parametrize("fmt", ["slack", "discord", "teams", "matrix"])
def test_each_chat_format_gets_the_body_its_receiver_reads(club, receiver, fmt):
    _add(club, receiver.url, fmt, ["discussion_started"])
    thread = discussions.start_thread(actor_id=club["admin"].id, group_id=club["group"].id,
                                      title="Plans <for> @everyone", body="Dig & plant")
    [request] = receiver.requests
    body = json.loads(request["body"])
    url = f"http://localhost/d/{thread.id}"
    if fmt == "slack":
        assert body["text"].startswith(f"<{url}|Ada Admin started a thread in Club: Plans &lt;for&gt; @everyone>")
    elif fmt == "discord":
        assert body["allowed_mentions"] == {"parse": []} and url in body["content"]
    elif fmt == "teams":
        card = body["attachments"][0]
        assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert card["content"]["actions"][0]["url"] == url
    else:
        assert url in body["text"] and "&lt;for&gt;" in body["html"] and body["username"] == "Quorum"
    assert "X-Quorum-Signature" not in request["headers"]


def test_the_address_and_the_secret_are_sealed_at_rest(club, receiver):
    from sqlalchemy import text

    hook = _add(club, receiver.url + "/services/T000/B000/XXXXSECRETPATH")
    stored = " ".join(str(v) for row in db.session.execute(text("SELECT * FROM webhooks")) for v in row)
    assert "XXXXSECRETPATH" not in stored and webhooks.signing_secret(hook) not in stored
    assert webhooks.target(hook).endswith("/XXXXSECRETPATH") and hook.host == "127.0.0.1"


def test_only_the_chosen_kinds_are_sent(club, receiver):
    _add(club, receiver.url, "json", ["comment_posted"])
    thread = discussions.start_thread(actor_id=club["admin"].id, group_id=club["group"].id, title="T")
    discussions.post_comment(actor_id=club["bea"].id, discussion_id=thread.id, body="hello")
    assert [r["headers"]["X-Quorum-Event"] for r in receiver.requests] == ["comment_posted"]


def test_a_failing_receiver_is_retried_then_the_webhook_is_turned_off_and_admins_are_told(club, receiver, outbox):
    webhook = _add(club, receiver.url)
    receiver.statuses = [500] * (2 * webhooks.MAX_ATTEMPTS)
    for title in ("One", "Two"):
        discussions.start_thread(actor_id=club["admin"].id, group_id=club["group"].id, title=title)
    rows = _deliveries()
    assert [(d.status, d.attempts, d.last_error) for d in rows] == [("retrying", 1, "HTTP 500")] * 2
    for row in rows:  # what RQ's retries do, with backoff, until the tries are used up
        while db.session.get(WebhookDelivery, row.id).status == "retrying":
            try:
                webhooks.deliver(row.id)
            except webhooks.TemporaryFailure:
                pass
            db.session.expire_all()
    rows = _deliveries()
    assert [(d.status, d.attempts) for d in rows] == [("failed", webhooks.MAX_ATTEMPTS)] * 2
    assert len(receiver.requests) == 2 * webhooks.MAX_ATTEMPTS
    webhook = db.session.get(Webhook, webhook.id)
    assert webhook.disabled_at is not None and "2 deliveries in a row failed" in webhook.disabled_reason
    mail = outbox.last_to("ada@example.org")
    assert "turned off" in mail.subject and "127.0.0.1" in mail.text and "/g/club/webhooks" in mail.text
    assert not outbox.to("bea@example.org") or all("webhook" not in m.subject for m in outbox.to("bea@example.org"))

    discussions.start_thread(actor_id=club["admin"].id, group_id=club["group"].id, title="Three")
    assert len(_deliveries()) == 2  # a turned-off webhook is sent nothing
    webhooks.enable_webhook(actor_id=club["admin"].id, group_id=club["group"].id, webhook_id=webhook.id)
    discussions.start_thread(actor_id=club["admin"].id, group_id=club["group"].id, title="Four")
    assert _deliveries()[-1].status == "delivered"


def test_retries_back_off_through_rq(club):
    from app.dispatch import KINDS

    [kind] = [k for k in KINDS if k.model is WebhookDelivery]
    retry = kind.options(1)["retry"]
    assert retry.max == webhooks.MAX_ATTEMPTS - 1
    assert retry.intervals == [30, 60, 120, 240, 480]


def test_a_redirect_is_never_followed(club, receiver):
    elsewhere = Receiver()
    try:
        receiver.statuses, receiver.location = [302], elsewhere.url + "/stolen"
        _add(club, receiver.url)
        discussions.start_thread(actor_id=club["admin"].id, group_id=club["group"].id, title="T")
        [row] = _deliveries()
        assert row.status == "failed" and "redirect" in row.last_error and row.attempts == 1
        assert elsewhere.requests == []
    finally:
        elsewhere.stop()


def test_private_and_loopback_addresses_are_refused_unless_allowed(club, receiver, monkeypatch):
    hook = _add(club, receiver.url)  # allowed while the tests' WEBHOOK_ALLOW_PRIVATE=1
    from flask import current_app

    monkeypatch.setitem(current_app.config, "WEBHOOK_ALLOW_PRIVATE", False)
    for url in (receiver.url, "http://10.1.2.3/hook", "http://[::1]:8080/", "http://169.254.169.254/latest",
                "http://localhost/x"):
        with pytest.raises(Invalid, match="private or local network"):
            _add(club, url)
    with pytest.raises(Invalid, match="could not be found"):
        _add(club, "https://no-such-host.invalid/hook")
    for url in ("ftp://example.org/", "https://user:pw@example.org/", "not a url", "https:///nohost"):
        with pytest.raises(Invalid):
            _add(club, url)
    discussions.start_thread(actor_id=club["admin"].id, group_id=club["group"].id, title="T")
    [row] = _deliveries()
    assert row.webhook_id == hook.id and row.status == "failed" and "private or local network" in row.last_error
    assert receiver.requests == []


def test_a_bad_form_gets_a_clear_answer(client, club):
    sign_in(client, club["admin"])
    answer = post(client, "/g/club/webhooks", {"url": "gopher://x", "format": "json", "events": ["comment_posted"]})
    assert answer.status_code == 422 and "must start with https://" in answer.get_data(as_text=True)
    answer = post(client, "/g/club/webhooks", {"url": "http://127.0.0.1:9/", "format": "json"})
    assert answer.status_code == 422 and "at least one kind" in answer.get_data(as_text=True)
    answer = post(client, "/g/club/webhooks", {"url": "http://127.0.0.1:9/", "format": "carrier-pigeon",
                                                "events": ["comment_posted"]})
    assert answer.status_code == 422
    assert db.session.scalar(select(Webhook)) is None


@pytest.mark.parametrize("privacy", ["open", "closed", "secret"])
@pytest.mark.parametrize("role", OUTSIDER_ROLES)
def test_only_the_groups_admins_see_or_change_webhooks(client, clean_app, monkeypatch, role, privacy, receiver):
    monkeypatch.setitem(clean_app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    group = GroupFactory(handle="club", privacy=privacy)
    admin = member(group, role="admin")
    hook = webhooks.add_webhook(actor_id=admin.id, group_id=group.id, url=receiver.url, format="json",
                                events=["comment_posted"])
    person = person_as(role, group)
    if person is not None:
        sign_in(client, person)
    page = client.get("/g/club/webhooks")
    added = post(client, "/g/club/webhooks", {"url": receiver.url, "format": "json", "events": ["comment_posted"]})
    removed = post(client, f"/g/club/webhooks/{hook.id}/remove")
    if role == "admin":
        assert (page.status_code, added.status_code, removed.status_code) == (200, 303, 303)
        return
    for response in (page, added, removed):
        assert response.status_code in (302, 303, 404), (role, privacy, response.status_code)
        assert "Signing secret" not in response.get_data(as_text=True)
    db.session.expire_all()
    assert [h.id for h in db.session.scalars(select(Webhook))] == [hook.id]


def test_a_webhook_of_another_group_cannot_be_touched(client, club, receiver):
    other = GroupFactory(handle="other")
    other_admin = member(other, role="admin")
    hook = webhooks.add_webhook(actor_id=other_admin.id, group_id=other.id, url=receiver.url, format="json",
                                events=["comment_posted"])
    sign_in(client, club["admin"])
    assert post(client, f"/g/club/webhooks/{hook.id}/remove").status_code == 404
    assert db.session.get(Webhook, hook.id) is not None
