"""The inbound SMTP server (aiosmtpd). It speaks SMTP only:

- RCPT: refuse with 550 and a plain reason any address we do not serve (so the sender's own
  server tells them; we never send backscatter), 451 when we cannot check (database down);
- DATA: store the message durably (fsynced encrypted file + committed row), then answer 250.
  The commit enqueues its processing (`app/dispatch.py`); if Redis is down the message is
  still accepted, and the sweeper enqueues it later.

Database work runs in a thread pool, each call in its own app context and session.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from app.db import durable_commits
from app.storage import NoSpace

log = logging.getLogger("quorum.smtp")

TEMPORARY_TROUBLE = "451 4.3.0 Temporary problem on our side; please try again later"
NO_ROOM = "452 4.3.1 Insufficient system storage; please try again later"


class InboundHandler:
    """aiosmtpd handler: recipient checks at RCPT, durable store at DATA."""

    def __init__(self, app: Flask, *, workers: int = 8):
        self.app = app
        # Its threads store the mail: their commits survive power loss (app.db.durable_commits).
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smtp-db", initializer=durable_commits)

    async def _run(self, func, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._in_context, func, *args)

    def _in_context(self, func, *args):
        from app.extensions import db

        with self.app.app_context():
            try:
                return func(*args)
            finally:
                db.session.remove()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options):
        try:
            refusal = await self._run(_recipient_refusal, address, envelope.mail_from or "")
        except Exception:  # noqa: BLE001 - e.g. the database is down: ask the sender to retry
            log.exception("could not check recipient %s", address)
            return TEMPORARY_TROUBLE
        if refusal:
            return f"550 5.1.1 <{address}>: {refusal}"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope):
        raw = envelope.original_content or (envelope.content if isinstance(envelope.content, bytes) else b"")
        peer = session.peer[0] if isinstance(session.peer, tuple) and session.peer else None
        try:
            inbound_id = await self._run(
                _accept, raw, envelope.mail_from or "", list(envelope.rcpt_tos), peer, session.host_name or ""
            )
        except NoSpace as error:  # nothing stored (no partial file either): the sender retries later
            log.error("could not store an inbound message: %s", error)
            return NO_ROOM
        except Exception:  # noqa: BLE001 - nothing stored: the sender must retry
            log.exception("could not store an inbound message")
            return TEMPORARY_TROUBLE
        # Stored and committed (the commit also enqueued its processing, or left it for the sweeper).
        return f"250 2.0.0 Accepted as {inbound_id}"


def _recipient_refusal(address: str, mail_from: str) -> str | None:
    from app.email.addresses import BadAddress

    from .recipients import resolve_recipient

    try:
        resolve_recipient(address, envelope_from=mail_from.strip("<>"))
    except BadAddress as refusal:
        return str(refusal)
    return None


def _accept(raw: bytes, mail_from: str, recipients: list[str], peer: str | None, helo: str) -> int:
    from flask import current_app

    from .store import accept

    row = accept(raw, envelope_from=mail_from, recipients=recipients, peer=peer, helo=helo,
                 domain=current_app.config["MAIL_DOMAIN"])
    return row.id


# --- Building and running the server ------------------------------------------------------

def tls_context(app: Flask) -> ssl.SSLContext | None:
    cert, key = app.config.get("SMTP_TLS_CERT"), app.config.get("SMTP_TLS_KEY")
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def smtp_options(app: Flask) -> dict:
    """Keyword arguments for aiosmtpd's SMTP class, from the app's configuration."""
    return {
        "data_size_limit": int(app.config["SMTP_MAX_MESSAGE_BYTES"]),  # advertised in EHLO SIZE, enforced (552)
        "enable_SMTPUTF8": True,
        "decode_data": False,
        "hostname": app.config["MAIL_DOMAIN"],
        "ident": "Quorum ESMTP",
        "tls_context": tls_context(app),
        "require_starttls": False,
        "auth_require_tls": True,
    }


def parse_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class QuorumController(Controller):
    """aiosmtpd's Controller running our handler in a thread (tests and `run_forever`)."""

    def __init__(self, app: Flask, hostname: str, port: int):
        self.quorum_app = app
        options = smtp_options(app)
        server_hostname = options.pop("hostname")
        super().__init__(InboundHandler(app), hostname=hostname, port=port, server_hostname=server_hostname,
                         **options)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def start_server(app: Flask, *, host: str = "127.0.0.1", port: int | None = None) -> QuorumController:
    """Start the server in a background thread (call `.stop()` when done). Port 0/None: a free one."""
    controller = QuorumController(app, host, port or free_port(host))
    controller.start()
    return controller


async def serve(app: Flask, handler: InboundHandler, stop: asyncio.Event, on_listening=None) -> None:
    """Listen on SMTP_LISTEN until `stop` is set (a port already taken raises here, at once)."""
    host, port = parse_listen(app.config["SMTP_LISTEN"])
    options = smtp_options(app)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, loop=loop, **options), host=host, port=port)
    tls = "with STARTTLS" if options["tls_context"] else "without TLS (set SMTP_TLS_CERT/KEY)"
    log.info("inbound SMTP listening on %s:%s %s, messages up to %s bytes", host, port, tls, options["data_size_limit"])
    print(f"SMTP listening on {host}:{port}", flush=True)
    if on_listening is not None:
        on_listening()
    await stop.wait()
    server.close()
    await server.wait_closed()


def run_forever(app: Flask) -> None:
    """`quorum smtp`: serve on SMTP_LISTEN until SIGTERM or Ctrl-C."""
    handler = InboundHandler(app)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(app, handler, stop)

    asyncio.run(main())
    handler.executor.shutdown(wait=True)  # a message being stored is committed before we exit


class ServerThread(threading.Thread):
    """The SMTP server on a thread and event loop of its own (`quorum background`). It ends only
    when stop() is called or the server fails (then `error` says why); stop() lets a message
    being stored finish first."""

    def __init__(self, app: Flask):
        super().__init__(name="smtp", daemon=True)
        self.app = app
        self.listening = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_serving: asyncio.Event | None = None
        self._asked_to_stop = threading.Event()

    def run(self) -> None:
        handler = InboundHandler(self.app)
        try:
            asyncio.run(self._main(handler))
        except BaseException as error:  # noqa: BLE001 - the owner of this thread reports it
            self.error = error
            log.exception("the SMTP server stopped")
        finally:
            handler.executor.shutdown(wait=True)

    async def _main(self, handler: InboundHandler) -> None:
        self._loop, self._stop_serving = asyncio.get_running_loop(), asyncio.Event()
        if self._asked_to_stop.is_set():
            return
        await serve(self.app, handler, self._stop_serving, self.listening.set)

    def stop(self) -> None:
        self._asked_to_stop.set()
        if self._loop is not None and self._stop_serving is not None:
            try:
                self._loop.call_soon_threadsafe(self._stop_serving.set)
            except RuntimeError:
                pass  # the loop already ended
