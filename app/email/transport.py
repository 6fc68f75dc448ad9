"""Hand a finished message to the relay (SMTP_URL) or, with none configured, to instance/outbox/."""
from __future__ import annotations

import os
import smtplib
import ssl
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


def send_via_relay(settings: RelaySettings, raw: bytes, envelope_from: str, recipients: list[str]) -> None:
    """Send one message; map failures onto temporary/permanent so the caller can retry."""
    context = ssl.create_default_context()
    try:
        if settings.implicit_tls:
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
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
            refused = client.sendmail(envelope_from, recipients, raw)
            if refused:
                code, message = next(iter(refused.values()))
                raise (TemporaryFailure if 400 <= code < 500 else PermanentFailure)(f"{code} {message!r}")
    except smtplib.SMTPResponseException as exc:
        kind = TemporaryFailure if 400 <= exc.smtp_code < 500 else PermanentFailure
        raise kind(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        kind = TemporaryFailure if all(400 <= c < 500 for c in codes) else PermanentFailure
        raise kind(str(exc.recipients)) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryFailure(f"relay unreachable: {exc}") from exc


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
