"""Outgoing webhooks: a group's admins choose kinds of event (a thread started, a comment, a decision
opened or closed, an outcome) to post to another service, in its format: plain JSON signed with
HMAC-SHA256, Slack or Mattermost, Discord, Microsoft Teams, or Matrix (a hookshot webhook).

The fan-out of an event writes one WebhookDelivery per webhook that wants it; the commit hands
each to the `deliver_webhook` job (app/dispatch.py), which posts it, retries with backoff, and
records every answer for the admins. Redirects are never followed, and an address on a private,
loopback or link-local network is refused (unless WEBHOOK_ALLOW_PRIVATE=1): the connection goes to
the very address that was checked. A webhook whose deliveries keep failing is disabled, and its
group's admins are told by mail.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from .. import attempts, policy, storage
from ..extensions import db
from ..models import (WEBHOOK_EVENTS, WEBHOOK_FORMATS, Comment, Discussion, Event, Group, Membership, Outcome, Poll,
                      User, Webhook, WebhookDelivery, utcnow)
from ..models.users import name_of
from ..rendering import excerpt, markdown_to_html
from ..tokens import random_token
from . import audit
from .accounts import acting_member
from ..i18n import _, _l, in_locale
from .errors import Invalid, NotAllowed, NotFound

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
EVENT_LABELS = {"discussion_started": _l("A thread is started"), "comment_posted": _l("A comment is posted"),
                "poll_created": _l("A decision is opened"), "poll_closed": _l("A decision closes"),
                "outcome_created": _l("An outcome is stated")}
FORMAT_LABELS = {"json": _l("JSON, signed (X-Quorum-Signature: HMAC-SHA256 of timestamp.body)"),
                 "slack": _l("Slack or Mattermost (incoming webhook)"), "discord": _l("Discord (channel webhook)"),
                 "teams": _l("Microsoft Teams (Workflows webhook, Adaptive Card)"),
                 "matrix": _l("Matrix (hookshot generic webhook)")}
URL_MAX = 2000


class TemporaryFailure(Exception):
    """The receiver could not take it now (no answer, 5xx, 429): try again later."""


class PermanentFailure(Exception):
    """Trying again will not help (refused address, a redirect, 4xx)."""


# --- Managing a group's webhooks -----------------------------------------------------------

def _admin_group(user: User, group_id: int) -> Group:
    group = db.session.get(Group, group_id)
    if group is None or not policy.can_see_group(user, group):
        raise NotFound(_("There is no such group."))
    if not policy.can_manage_webhooks(user, group):
        raise NotAllowed(_("Only the group's admins can manage its webhooks."))
    return group


def _seal(what: str, group_id: int, value: str) -> str:
    return base64.b64encode(storage.encrypt(value.encode(), associated=f"webhook-{what}:{group_id}".encode())).decode()


def _open(what: str, group_id: int, sealed: str) -> str:
    return storage.decrypt(base64.b64decode(sealed), associated=f"webhook-{what}:{group_id}".encode()).decode()


def signing_secret(webhook: Webhook) -> str:
    """The HMAC key the receiver checks signatures with (admins see it on the webhooks page)."""
    return _open("secret", webhook.group_id, webhook.secret)


def reseal(current_key_id: bytes) -> int:
    """Seal every webhook address and secret not under the current data key with it (key rotation,
    app/stewardship/keys.py); the caller commits. Returns how many values it sealed again."""
    done = 0
    for webhook in db.session.scalars(select(Webhook)):
        for what, attribute in (("url", "sealed_url"), ("secret", "secret")):
            sealed = getattr(webhook, attribute)
            if base64.b64decode(sealed)[5:13] != current_key_id:
                setattr(webhook, attribute, _seal(what, webhook.group_id, _open(what, webhook.group_id, sealed)))
                done += 1
    return done


def target(webhook: Webhook) -> str:
    """The address the webhook posts to (sealed at rest: for a chat service it is a secret itself)."""
    return _open("url", webhook.group_id, webhook.sealed_url)


def check_url(url: str) -> str:
    """A clean http(s) address, or Invalid saying what is wrong with it."""
    url = (url or "").strip()
    if not url:
        raise Invalid(_("Please give the address to post to."), field="url")
    if len(url) > URL_MAX or any(ch.isspace() for ch in url):
        raise Invalid(_("That does not look like a web address."), field="url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(_("The address must start with https:// (or http://) and name a host."), field="url")
    if parts.username or parts.password:
        raise Invalid(_("Put no user name or password in the address."), field="url")
    try:
        parts.port
    except ValueError:
        raise Invalid(_("That address has a port that is not a number."), field="url") from None
    return url


def add_webhook(*, actor_id: int, group_id: int, url: str, format: str, events: list[str]) -> Webhook:  # noqa: A002
    user = acting_member(actor_id)
    group = _admin_group(user, group_id)
    url = check_url(url)
    if format not in WEBHOOK_FORMATS:
        raise Invalid(_("Please choose one of the formats."), field="format")
    chosen = [kind for kind in WEBHOOK_EVENTS if kind in set(events or ())]
    if not chosen:
        raise Invalid(_("Choose at least one kind of event to send."), field="events")
    try:
        resolve(url)
    except (PermanentFailure, TemporaryFailure) as error:
        raise Invalid(str(error), field="url") from None
    webhook = Webhook(group_id=group.id, sealed_url=_seal("url", group.id, url), host=urlsplit(url).hostname,
                      format=format, events=chosen, created_by_id=user.id,
                      secret=_seal("secret", group.id, random_token(32)))
    db.session.add(webhook)
    db.session.flush()
    audit.record(user.id, group.id, "webhook_added", webhook_id=webhook.id, host=urlsplit(url).hostname,
                 format=format, events=chosen)
    db.session.commit()
    return webhook


def _webhook_of(user: User, group_id: int, webhook_id: int) -> Webhook:
    group = _admin_group(user, group_id)
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.group_id != group.id:
        raise NotFound(_("There is no such webhook."))
    return webhook


def remove_webhook(*, actor_id: int, group_id: int, webhook_id: int) -> None:
    user = acting_member(actor_id)
    webhook = _webhook_of(user, group_id, webhook_id)
    audit.record(user.id, group_id, "webhook_removed", webhook_id=webhook.id, host=webhook.host)
    db.session.delete(webhook)
    db.session.commit()


def enable_webhook(*, actor_id: int, group_id: int, webhook_id: int) -> Webhook:
    """Turn a disabled webhook back on (its count of failures starts again)."""
    user = acting_member(actor_id)
    webhook = _webhook_of(user, group_id, webhook_id)
    webhook.disabled_at, webhook.disabled_reason, webhook.failures_in_a_row = None, None, 0
    audit.record(user.id, group_id, "webhook_enabled", webhook_id=webhook.id)
    db.session.commit()
    return webhook


def webhooks_page(user, group: Group) -> list[dict]:
    """The group's webhooks with their secret and latest deliveries, for its admins' page."""
    if not policy.can_manage_webhooks(user, group):
        raise NotAllowed(_("Only the group's admins can manage its webhooks."))
    hooks = list(db.session.scalars(select(Webhook).where(Webhook.group_id == group.id).order_by(Webhook.id)))
    recent: dict[int, list[WebhookDelivery]] = {h.id: [] for h in hooks}
    if hooks:
        for row in db.session.execute(
                select(WebhookDelivery, Event.kind).join(Event, Event.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.webhook_id.in_(list(recent))).order_by(WebhookDelivery.id.desc()).limit(200)):
            if len(recent[row[0].webhook_id]) < 10:
                recent[row[0].webhook_id].append((row[0], row[1]))
    return [{"webhook": h, "url": target(h), "secret": signing_secret(h), "deliveries": recent[h.id]} for h in hooks]


# --- From an event to deliveries ------------------------------------------------------------

def _group_of(event: Event) -> int | None:
    """The group whose webhooks hear of the event: its thread's group (wherever it has moved)."""
    if event.discussion_id is not None:
        return db.session.scalar(select(Discussion.group_id).where(Discussion.id == event.discussion_id))
    return event.group_id


def queue_deliveries(event: Event) -> int:
    """One delivery per enabled webhook that wants this kind of event, in the caller's transaction
    (the fan-out's); its commit hands them to jobs. Idempotent: a delivery is made once."""
    if event.kind not in WEBHOOK_EVENTS:
        return 0
    group_id = _group_of(event)
    if group_id is None:
        return 0
    done = set(db.session.scalars(select(WebhookDelivery.webhook_id).where(WebhookDelivery.event_id == event.id)))
    count = 0
    for webhook in db.session.scalars(select(Webhook).where(Webhook.group_id == group_id,
                                                            Webhook.disabled_at.is_(None))):
        if event.kind in (webhook.events or []) and webhook.id not in done:
            db.session.add(WebhookDelivery(webhook_id=webhook.id, event_id=event.id, status="queued"))
            count += 1
    return count


# --- Delivering one ----------------------------------------------------------------------------

def retry_delays() -> list[int]:
    """Backoff between attempts: WEBHOOK_RETRY_SECONDS (30) doubled each time, about 15 minutes in all."""
    return attempts.doubling(float(current_app.config.get("WEBHOOK_RETRY_SECONDS", 30)), MAX_ATTEMPTS)


def _refused(ip: str) -> bool:
    address = ipaddress.ip_address(ip)
    if getattr(address, "ipv4_mapped", None):
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def resolve(url: str) -> tuple[str, int, str]:
    """(host, port, the address to connect to); TemporaryFailure for a host that does not resolve (now:
    DNS may be away), PermanentFailure for one that, unless WEBHOOK_ALLOW_PRIVATE, resolves to any
    private, loopback, link-local or reserved address."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TemporaryFailure(f"{parts.hostname} could not be found.") from None
    addresses = [info[4][0] for info in found]
    if not current_app.config.get("WEBHOOK_ALLOW_PRIVATE") and any(_refused(ip) for ip in addresses):
        raise PermanentFailure(f"{parts.hostname} is on a private or local network, which webhooks may not reach.")
    return parts.hostname, port, addresses[0]


class _Pinned:
    """Connect to the checked address, whatever the name resolves to by now (no DNS rebinding)."""

    def connect(self):
        self.sock = socket.create_connection((self.pinned_ip, self.port), self.timeout)
        if isinstance(self, http.client.HTTPSConnection):
            self.sock = self._context.wrap_socket(self.sock, server_hostname=self.host)


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    pass


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    pass


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST once; the status (2xx), or TemporaryFailure / PermanentFailure. Never follows a redirect."""
    host, port, ip = resolve(url)
    parts = urlsplit(url)
    timeout = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", 10))
    if parts.scheme == "https":
        connection = _PinnedHTTPS(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        connection = _PinnedHTTP(host, port, timeout=timeout)
    connection.pinned_ip = ip
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers={**headers, "User-Agent": "Quorum-Webhook/1"})
        response = connection.getresponse()
        response.read(65536)
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        raise TemporaryFailure(f"no answer: {type(error).__name__}") from None
    finally:
        connection.close()
    if 200 <= status < 300:
        return status
    if 300 <= status < 400:
        raise PermanentFailure(f"HTTP {status}: a redirect, which webhooks never follow")
    if status >= 500 or status in (408, 425, 429):
        raise TemporaryFailure(f"HTTP {status}")
    raise PermanentFailure(f"HTTP {status}")


def deliver(delivery_id: int) -> str:
    """Post one delivery now. Returns its status; raises TemporaryFailure so RQ retries it (with
    backoff) until MAX_ATTEMPTS, when it is failed for good. Claimed first, so it is posted once."""
    row, claimed = attempts.claim(WebhookDelivery, delivery_id)
    if not claimed:
        return row.status if row else "missing"
    webhook = row.webhook
    if webhook.disabled_at is not None:
        row.status, row.last_error = "failed", "the webhook is disabled"
        db.session.commit()
        return "failed"
    event = db.session.get(Event, row.event_id)
    payload = describe(event)
    if payload is None:  # what it was about is gone (deleted) since
        row.status, row.last_error = "skipped", "what the event was about has been deleted"
        db.session.commit()
        return "skipped"
    body, headers = encode(webhook, payload, delivery_id=row.id)
    try:
        row.response_status = post(target(webhook), body, headers)
    except TemporaryFailure as error:
        row.last_error = str(error)[:1000]
        if row.attempts < MAX_ATTEMPTS:
            row.status = "retrying"
            db.session.commit()
            log.info("webhook %s delivery %s: %s; attempt %s of %s", webhook.id, row.id, error, row.attempts,
                     MAX_ATTEMPTS)
            raise
        return _failed(row, webhook)
    except PermanentFailure as error:
        row.last_error = str(error)[:1000]
        return _failed(row, webhook)
    row.status, row.delivered_at, row.last_error = "delivered", utcnow(), None
    webhook.failures_in_a_row = 0
    db.session.commit()
    return "delivered"


def _failed(row: WebhookDelivery, webhook: Webhook) -> str:
    """A delivery failed for good: count it, and disable the webhook when they keep failing."""
    from ..email import messages

    row.status = "failed"
    webhook.failures_in_a_row = (webhook.failures_in_a_row or 0) + 1
    log.warning("webhook %s delivery %s failed: %s", webhook.id, row.id, row.last_error)
    if webhook.disabled_at is None and webhook.failures_in_a_row >= int(current_app.config["WEBHOOK_DISABLE_AFTER"]):
        webhook.disabled_at = utcnow()
        webhook.disabled_reason = f"{webhook.failures_in_a_row} deliveries in a row failed; the last: {row.last_error}"
        group = db.session.get(Group, webhook.group_id)
        admins = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
            Membership.group_id == group.id, Membership.role == "admin", User.deleted_at.is_(None),
            User.email.is_not(None)))
        for admin in admins:
            messages.webhook_disabled(admin=admin, group=group, webhook_id=webhook.id,
                                      host=webhook.host, reason=webhook.disabled_reason)
    db.session.commit()
    return "failed"


# --- What is posted -----------------------------------------------------------------------------

def describe(event: Event) -> dict | None:
    """What the event says, in plain values (None if its thread, comment or poll is gone)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    discussion = db.session.get(Discussion, event.discussion_id) if event.discussion_id else None
    if discussion is not None and discussion.deleted_at is not None:
        return None
    poll = db.session.get(Poll, event.poll_id) if event.poll_id else None
    if poll is not None and policy.poll_is_gone(poll):
        return None
    group = discussion.group if discussion is not None else (policy.poll_group(poll) if poll else
                                                              db.session.get(Group, event.group_id))
    actor = name_of(db.session.get(User, event.actor_id)) if event.actor_id else "Quorum"
    out = {"event": event.kind, "event_id": event.id, "created_at": event.created_at.isoformat(), "actor": actor,
           "group": {"handle": group.handle, "name": group.name, "url": f"{base}/g/{group.handle}"}}
    if discussion is not None:
        out["thread"] = {"id": discussion.id, "title": discussion.title, "url": f"{base}/d/{discussion.id}"}
    with in_locale(getattr(group, "locale", None)):  # chat readers: the group's language
        return _described(event, out, base, discussion, poll, group, actor)


def _described(event: Event, out: dict, base: str, discussion, poll, group, actor: str) -> dict | None:
    text, link = "", ""
    if event.kind == "discussion_started":
        text, link = discussion.body, out["thread"]["url"]
        out["thread"]["text"] = discussion.body
        headline = _("%(actor)s started a thread in %(group)s: %(title)s", actor=actor, group=group.name,
                     title=discussion.title)
    elif event.kind == "comment_posted":
        comment = db.session.get(Comment, event.comment_id)
        if comment is None or comment.deleted_at is not None:
            return None
        link = f"{base}/d/{discussion.id}#c{comment.id}"
        out["comment"] = {"id": comment.id, "url": link, "text": comment.body, "parent_id": comment.parent_id}
        text, actor = comment.body, name_of(comment.author)
        headline = _("%(actor)s commented on %(title)s (%(group)s)", actor=actor, title=discussion.title, group=group.name)
    else:
        link = f"{base}/p/{poll.id}"
        out["poll"] = {"id": poll.id, "title": poll.title, "type": poll.poll_type, "url": link,
                       "closing_at": poll.closing_at.isoformat(),
                       "closed_at": poll.closed_at.isoformat() if poll.closed_at else None}
        if event.kind == "poll_created":
            text, headline = poll.details, _("%(actor)s opened a decision in %(group)s: %(title)s", actor=actor,
                                              group=group.name, title=poll.title)
        elif event.kind == "poll_closed":
            headline = _("A decision closed in %(group)s: %(title)s", group=group.name, title=poll.title)
        else:
            outcome = db.session.scalar(select(Outcome).where(Outcome.poll_id == poll.id, Outcome.latest.is_(True)))
            text = outcome.statement if outcome else ""
            out["outcome"] = {"statement": text}
            headline = _("Outcome of %(title)s (%(group)s)", title=poll.title, group=group.name)
    out.update(headline=headline, url=link, summary=excerpt(text, 300))
    return out


def _slack_escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def encode(webhook: Webhook, payload: dict, *, delivery_id: int) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery in the webhook's format."""
    headline, url, summary = payload["headline"], payload["url"], payload["summary"]
    headers = {"content-type": "application/json", "X-Quorum-Event": payload["event"],
               "X-Quorum-Delivery": str(delivery_id)}
    if webhook.format == "json":
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        mac = hmac.new(signing_secret(webhook).encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers.update({"X-Quorum-Timestamp": timestamp, "X-Quorum-Signature": f"sha256={mac}"})
        return body, headers
    if webhook.format == "slack":
        text = f"<{url}|{_slack_escape(headline)}>" + (f"\n{_slack_escape(summary)}" if summary else "")
        doc = {"text": text}
    elif webhook.format == "discord":
        # No @everyone, role or user pings from anything a member wrote.
        doc = {"content": (f"**{headline}**\n{summary}\n<{url}>")[:2000], "allowed_mentions": {"parse": []}}
    elif webhook.format == "teams":
        doc = {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4", "body": [{"type": "TextBlock", "text": headline, "weight": "Bolder", "wrap": True},
                                           {"type": "TextBlock", "text": summary, "wrap": True}],
                "actions": [{"type": "Action.OpenUrl", "title": "Open in Quorum", "url": url}]}}]}
    else:  # matrix: a hookshot generic webhook takes text and html
        from markupsafe import escape

        doc = {"text": f"{headline}\n{summary}\n{url}", "username": "Quorum",
               "html": f'<p><a href="{escape(url)}">{escape(headline)}</a></p>{markdown_to_html(summary)}'}
    return json.dumps(doc, ensure_ascii=False).encode(), headers
