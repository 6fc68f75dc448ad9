"""Delivery: replies to a 40-member group, from SMTP accept to each member's own copy at a counting relay.

The worker sends through SMTP_URL to an aiosmtpd sink in this process that counts what it is handed. The
baseline is the same sink fed by a bare smtplib loop over one connection, the same number of copies: what
the relay itself can take here, measured in the same run.
"""
from __future__ import annotations

import smtplib
import threading
import time
from email.parser import BytesParser
from datetime import datetime, timezone

from . import mail as mailbench
from .stack import Stack, free_port, quorum_argv, wait_for_port

GROUP_SIZE = 40


class CountingSink:
    """An aiosmtpd handler that accepts and counts every message (the relay in the figure). With `about`
    set, it also counts the copies whose Subject holds that text (the figure's own mail, not older mail a
    sweeper sends meanwhile) and any copy handed over twice (the same Message-ID to the same recipient)."""

    def __init__(self, about: str = "") -> None:
        self.count = 0
        self.about, self.matching, self.duplicates = about, 0, 0
        self._seen: set = set()
        self.connections: set = set()
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        head = envelope.content.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] if self.about else b""
        message = BytesParser().parsebytes(head, headersonly=True) if self.about else None
        with self._lock:
            self.count += len(envelope.rcpt_tos)
            self.connections.add(session.peer)
            if message is not None and self.about in str(message.get("Subject", "")):
                for rcpt in envelope.rcpt_tos:
                    key = (rcpt.lower(), message.get("Message-ID", ""))
                    self.duplicates += key in self._seen
                    self._seen.add(key)
                    self.matching += 1
        return "250 OK"


def seed_group(app) -> tuple[list[int], int, str]:
    """A group of GROUP_SIZE members who all take every comment by mail, and one thread: (member ids, thread
    id, title). Senders are memberN@bench.example, which the bench's DNS authenticates for loopback."""
    from app.extensions import db
    from app.models import Membership, User
    from app.services import discussions, groups

    now = datetime.now(timezone.utc)
    with app.app_context():
        users = [User(email=f"delivery-{i}@bench.example", name=f"Delivery {i}", time_zone="UTC",
                      email_verified_at=now, mail_token_generation=0) for i in range(GROUP_SIZE)]
        db.session.add_all(users)
        db.session.flush()
        for user in users:  # the bench's reply builder writes From: member<id>@bench.example
            user.email = f"member{user.id}@bench.example"
        db.session.commit()
        group = groups.create_group(actor_id=users[0].id, name="Delivery bench", handle="deliverybench")
        db.session.add_all(Membership(group_id=group.id, user_id=u.id, volume="all") for u in users[1:])
        db.session.commit()
        thread = discussions.start_thread(actor_id=users[0].id, group_id=group.id, title="Delivery bench thread")
        ids, thread_id, title = [u.id for u in users], thread.id, thread.title
        db.engine.dispose()
    return ids, thread_id, title


def drop_queued_jobs(redis_url: str) -> int:
    """Earlier sections leave fan-out and send jobs queued (the posting load): drop them, so this figure
    times only its own mail. (A scratch instance: the mail they stood for is never needed.)"""
    import redis
    from rq import Queue

    from app.queue import QUEUES

    connection = redis.Redis.from_url(redis_url)
    dropped = 0
    for name in QUEUES:
        queue = Queue(name, connection=connection)
        dropped += len(queue)
        queue.empty()
    return dropped


def bare_relay_rate(port: int, copies: int, raw: bytes) -> dict:
    """The sink fed by one smtplib connection: the relay's own ceiling on this machine."""
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        for i in range(copies):
            client.sendmail("bounces@bench.quorum.test", [f"member{i}@bench.example"], raw)
    seconds = time.monotonic() - started
    return {"copies": copies, "seconds": round(seconds, 2), "copies_per_second": copies / seconds if seconds else 0.0}


def measure_delivery(app, stack: Stack, args) -> dict:
    from aiosmtpd.controller import Controller
    from sqlalchemy import create_engine, func, select

    from app.models import Comment, OutboundMessage

    replies = args.delivery
    member_ids, thread_id, title = seed_group(app)
    expected_copies = replies * (GROUP_SIZE - 1)  # everyone but the writer

    sink = CountingSink(about=title)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    engine = create_engine(stack.backend.database_url)
    try:
        sample = mailbench.build_replies(app, 1, member_ids, [thread_id], {thread_id: title})[0][2]
        baseline = bare_relay_rate(port, expected_copies, sample)
        sink.count = sink.matching = sink.duplicates = 0
        sink._seen.clear()
        sink.connections.clear()

        # The worker now sends to the sink; nothing queued by earlier sections competes with it.
        # The worker runs in `quorum background` (with the SMTP server), as `quorum serve` runs it.
        worker = stack.runs("worker")
        stack.stop(worker)
        dropped = drop_queued_jobs(stack.backend.redis_url)
        with engine.connect() as conn:
            since_comment = conn.scalar(select(func.max(Comment.id))) or 0
            since_message = conn.scalar(select(func.max(OutboundMessage.id))) or 0
        argv = stack.argv.get(worker) or quorum_argv("worker")
        stack.start(worker, argv, env={**stack.env(), "SMTP_URL": f"smtp://127.0.0.1:{port}?starttls=off"})
        smtp = stack.runs("smtp")
        if not wait_for_port(stack.smtp_port, 30, stack.processes.get(smtp)):
            return {"available": False, "why": "the SMTP server did not start: " + stack.log_tail(smtp, 8)}

        messages = mailbench.build_replies(app, replies, member_ids, [thread_id], {thread_id: title})
        timeout = 60 if args.quick else 600
        accepted = mailbench.send_burst(stack.smtp_port, messages, args.mail_clients, timeout=timeout)
        deadline = time.monotonic() + timeout
        while sink.matching < expected_copies and time.monotonic() < deadline:
            time.sleep(0.1)
        seconds = time.monotonic() - accepted["started"]
        with engine.connect() as conn:
            comments = conn.scalar(select(func.count(Comment.id)).where(Comment.id > since_comment,
                                                                        Comment.discussion_id == thread_id)) or 0
            statuses = dict(conn.execute(select(OutboundMessage.status, func.count()).where(
                OutboundMessage.id > since_message).group_by(OutboundMessage.status)).all())
        rate = sink.matching / seconds if seconds else 0.0
        result = {
            "available": True, "group_members": GROUP_SIZE, "replies": replies, "clients": args.mail_clients,
            "accepted": accepted["accepted"], "comments": comments, "copies": sink.matching,
            "expected_copies": expected_copies, "duplicates": sink.duplicates, "other_mail": sink.count - sink.matching, "seconds": round(seconds, 2),
            "replies_per_second": comments / seconds if seconds else 0.0, "copies_per_second": rate,
            "relay_connections": len(sink.connections), "outbound_by_status": statuses,
            "jobs_dropped_first": dropped, "baseline": baseline,
            "ratio": rate / baseline["copies_per_second"] if baseline["copies_per_second"] else 0.0,
            "complete": sink.matching >= expected_copies and not sink.duplicates,
        }
        if not result["complete"]:
            result["why_incomplete"] = (f"{sink.matching} of {expected_copies} copies reached the relay within {timeout} s "
                                        f"({sink.duplicates} of them twice); outbound rows: {statuses}")
        return result
    finally:
        controller.stop()
        engine.dispose()
