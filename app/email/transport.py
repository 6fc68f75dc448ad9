"""Hand a finished message to the relay (SMTP_URL) or, with none configured, to instance/outbox/."""
from __future__ import annotations

import atexit
import os
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


class TemporaryFailure(Exception):
    """The relay is down or answered 4xx: try again later."""


class PermanentFailure(Exception):
    """The relay refused the message for good (5xx)."""


@dataclass(frozen=True)
class RelaySettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: str  # "required" | "opportunistic" | "off"
    username: str | None
    password: str | None
    timeout: float = 20.0
    # Send the login over a connection without TLS: only when SMTP_URL says so (?insecure_auth=1),
    # for a relay on the same machine or a private link.
    insecure_auth: bool = False

    @classmethod
    def from_url(cls, url: str, timeout: float = 20.0) -> "RelaySettings":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError(f"SMTP_URL must start with smtp://, smtps:// or smtp+starttls://, not {parts.scheme}://")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        starttls = "required" if parts.scheme == "smtp+starttls" else query.get("starttls", ["opportunistic"])[0]
        if implicit:
            starttls = "off"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if implicit else 587 if starttls == "required" else 25),
            implicit_tls=implicit,
            starttls=starttls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            insecure_auth=query.get("insecure_auth", ["0"])[0] in ("1", "yes", "true"),
            timeout=timeout,
        )


# --- Connections to the relay, kept open between messages -----------------------------------------------
# A list server's transport: one connection carries many messages (each still its own MAIL FROM / RCPT TO /
# DATA, so every member's copy and its status stay separate); RSET clears a failed transaction before the
# next. A worker process keeps up to POOL_SIZE idle connections per relay, each for IDLE_SECONDS at most and
# MESSAGES_PER_CONNECTION messages (relays limit both), and builds each relay's TLS context once.
POOL_SIZE = 4
IDLE_SECONDS = 30.0
MESSAGES_PER_CONNECTION = 100


@dataclass
class _Connection:
    client: smtplib.SMTP
    sent: int = 0
    idle_since: float = 0.0


class RelayPool:
    """Idle, logged-in connections per relay, for this process (threads take and give under a lock)."""

    def __init__(self) -> None:
        self._idle: dict[RelaySettings, list[_Connection]] = {}
        self._contexts: dict[RelaySettings, ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self.opened = 0  # connections opened by this process (the bench and tests read it)

    def context(self, settings: RelaySettings) -> ssl.SSLContext:
        with self._lock:
            if settings not in self._contexts:
                self._contexts[settings] = ssl.create_default_context()
            return self._contexts[settings]

    def take(self, settings: RelaySettings) -> _Connection | None:
        now = time.monotonic()
        stale = []
        found = None
        with self._lock:
            idle = self._idle.get(settings, [])
            while idle:
                connection = idle.pop()
                if now - connection.idle_since < IDLE_SECONDS:
                    found = connection
                    break
                stale.append(connection)
        for connection in stale:
            _close(connection.client)
        return found

    def give(self, settings: RelaySettings, connection: _Connection) -> None:
        if connection.sent >= MESSAGES_PER_CONNECTION:
            _quit(connection.client)
            return
        connection.idle_since = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(settings, [])
            if len(idle) < POOL_SIZE:
                idle.append(connection)
                return
        _quit(connection.client)

    def open(self, settings: RelaySettings) -> _Connection:
        connection = _Connection(_connect(settings, self.context(settings)))
        with self._lock:
            self.opened += 1
        return connection

    def close_all(self) -> None:
        with self._lock:
            connections = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for connection in connections:
            _quit(connection.client)


POOL = RelayPool()
atexit.register(POOL.close_all)


def send_via_relay(settings: RelaySettings, raw: bytes, envelope_from: str, recipients: list[str]) -> None:
    """Send one message over a kept connection (or a new one); map failures onto temporary/permanent so the
    caller can retry. A kept connection the relay has since closed is noticed at MAIL FROM, before anything
    of the message was sent, and replaced once."""
    connection = POOL.take(settings)
    try:
        if connection is not None:
            try:
                _transaction(connection.client, raw, envelope_from, recipients, first_step_may_fail=True)
            except _Stale:
                _close(connection.client)
                connection = None
        if connection is None:
            connection = POOL.open(settings)
            _transaction(connection.client, raw, envelope_from, recipients)
    except smtplib.SMTPResponseException as exc:
        kind = TemporaryFailure if 400 <= exc.smtp_code < 500 else PermanentFailure
        _after_failure(settings, connection, exc)
        raise kind(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        kind = TemporaryFailure if all(400 <= c < 500 for c in codes) else PermanentFailure
        _after_failure(settings, connection, exc)
        raise kind(str(exc.recipients)) from exc
    except _Refused as exc:
        _after_failure(settings, connection, exc)
        raise (TemporaryFailure if 400 <= exc.code < 500 else PermanentFailure)(f"{exc.code} {exc.message!r}") from exc
    except (TemporaryFailure, PermanentFailure):
        if connection is not None:
            _close(connection.client)
        raise
    except (OSError, smtplib.SMTPException) as exc:
        if connection is not None:
            _close(connection.client)
        raise TemporaryFailure(f"relay unreachable: {exc}") from exc
    connection.sent += 1
    POOL.give(settings, connection)


class _Stale(Exception):
    """A kept connection the relay closed while it was idle."""


class _Refused(Exception):
    def __init__(self, code: int, message: bytes) -> None:
        super().__init__(code, message)
        self.code, self.message = code, message


def _connect(settings: RelaySettings, context: ssl.SSLContext) -> smtplib.SMTP:
    if settings.implicit_tls:
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        client.ehlo()
        encrypted = settings.implicit_tls
        if not settings.implicit_tls and settings.starttls != "off":
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
                encrypted = True
            elif settings.starttls == "required":
                raise TemporaryFailure("relay does not offer STARTTLS, which SMTP_URL requires")
        if settings.username:
            if not encrypted and not settings.insecure_auth:
                # The password would cross the network in clear: keep the mail and say why.
                raise TemporaryFailure("relay offers no TLS, so the login was not sent; use smtps:// or "
                                       "smtp+starttls://, or add ?insecure_auth=1 to SMTP_URL for a local relay")
            client.login(settings.username, settings.password or "")
    except BaseException:
        _close(client)
        raise
    return client


def _transaction(client: smtplib.SMTP, raw: bytes, envelope_from: str, recipients: list[str], *,
                 first_step_may_fail: bool = False) -> None:
    """MAIL FROM, RCPT TO each, DATA: smtplib's sendmail, with a dead kept connection told apart."""
    try:
        code, message = client.mail(envelope_from, [f"size={len(raw)}"] if client.has_extn("size") else [])
    except (smtplib.SMTPServerDisconnected, OSError) as exc:
        if first_step_may_fail:
            raise _Stale() from exc
        raise
    if code == 421 and first_step_may_fail:  # "closing the connection": it was only idle too long
        raise _Stale()
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, message, envelope_from)
    refused = {}
    for recipient in recipients:
        code, message = client.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, message)
    if len(refused) == len(recipients):
        raise smtplib.SMTPRecipientsRefused(refused)
    code, message = client.data(raw)
    if code != 250:
        raise smtplib.SMTPDataError(code, message)
    if refused:
        code, message = next(iter(refused.values()))
        raise _Refused(code, message)


def _after_failure(settings: RelaySettings, connection: _Connection | None, exc: Exception) -> None:
    """The relay answered but refused: RSET clears the transaction and the connection goes back for the
    next message; a connection that cannot even do that is closed."""
    if connection is None:
        return
    if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421:
        _close(connection.client)  # "service closing": the relay is ending this connection
        return
    try:
        connection.client.rset()
    except (OSError, smtplib.SMTPException):
        _close(connection.client)
        return
    POOL.give(settings, connection)


def _quit(client: smtplib.SMTP) -> None:
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        _close(client)


def _close(client: smtplib.SMTP) -> None:
    try:
        client.close()
    except OSError:
        pass


def write_to_outbox(outbox: Path, raw: bytes, name_hint: str) -> Path:
    """Write a message as an .eml file atomically (tmp + fsync + rename)."""
    outbox.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name_hint)[:80]
    final = outbox / f"{time.strftime('%Y%m%d-%H%M%S')}-{safe}.eml"
    tmp = outbox / f".{final.name}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    return final
