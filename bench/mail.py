"""Inbound mail: a burst of well-formed replies from parallel smtplib clients."""
from __future__ import annotations

import smtplib
import threading
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from types import SimpleNamespace


def build_replies(app, n: int, member_ids: list[int], thread_ids: list[int], titles: dict[int, str]) -> list[tuple[str, str, bytes]]:
    """(envelope from, envelope to, bytes) for n replies: From the member, To their reply address."""
    from app.email.addresses import reply_address

    out = []
    with app.app_context():
        for i in range(n):
            uid = member_ids[i % len(member_ids)]
            tid = thread_ids[(i // len(member_ids) + i) % len(thread_ids)]
            sender = f"member{uid}@bench.example"
            to = reply_address(SimpleNamespace(id=uid, mail_token_generation=0), "discussion", tid)
            msg = EmailMessage()
            msg["From"] = f"Member {uid} <{sender}>"
            msg["To"] = to
            msg["Subject"] = f"Re: {titles.get(tid, 'thread')}"
            msg["Date"] = format_datetime(datetime.now(timezone.utc))
            msg["Message-ID"] = make_msgid(idstring=f"bench{i}", domain="bench.example")
            msg.set_content(f"Sounds good to me. Reply {i} from the bench; I can help on Saturday.\n")
            out.append((sender, to, msg.as_bytes()))
    return out


def send_burst(port: int, messages: list[tuple[str, str, bytes]], clients: int, timeout: float,
               protocol=smtplib.SMTP) -> dict:
    """Send every message over `clients` parallel SMTP connections (or `protocol`: smtplib.LMTP for a
    list server's LMTP port); return timing and failures."""
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + timeout

    def worker(chunk):
        conn = None
        for sender, to, data in chunk:
            if time.monotonic() > deadline:
                with lock:
                    failures.append("timeout")
                continue
            try:
                if conn is None:
                    conn = protocol("127.0.0.1", port, timeout=30)
                    conn.ehlo("bench.example")
                conn.sendmail(sender, [to], data)
            except (smtplib.SMTPException, OSError) as error:
                with lock:
                    failures.append(f"{type(error).__name__}: {str(error)[:120]}")
                try:
                    if conn is not None:
                        conn.close()
                except Exception:
                    pass
                conn = None
        if conn is not None:
            try:
                conn.quit()
            except Exception:
                pass

    chunks = [messages[i::clients] for i in range(clients)]
    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in chunks]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic() + 5))
    elapsed = time.monotonic() - started
    accepted = len(messages) - len(failures)
    return {"sent": len(messages), "accepted": accepted, "failures": len(failures),
            "failure_examples": sorted(set(failures))[:5], "seconds": elapsed,
            "accepted_per_second": accepted / elapsed if elapsed else 0.0, "started": started}


def wait_for_comments(engine, since_id: int, expected: int, started: float, timeout: float) -> dict:
    """Poll the database until `expected` new comments with source='email' exist (or time runs out)."""
    from sqlalchemy import func, select

    from app.models import Comment

    deadline = time.monotonic() + timeout
    count = 0
    while True:
        with engine.connect() as conn:
            count = conn.scalar(select(func.count(Comment.id)).where(Comment.id > since_id, Comment.source == "email")) or 0
        if count >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    return {"committed": count, "seconds": elapsed, "per_second": count / elapsed if elapsed else 0.0,
            "complete": count >= expected}


def inbound_breakdown(engine) -> dict:
    """How the stored inbound messages ended up (status / action), to explain a shortfall."""
    from sqlalchemy import func, select

    from app.models import InboundMessage

    with engine.connect() as conn:
        rows = conn.execute(select(InboundMessage.status, InboundMessage.action, func.count())
                            .group_by(InboundMessage.status, InboundMessage.action)).all()
        reasons = conn.execute(select(InboundMessage.reason, InboundMessage.error).where(
            InboundMessage.status.notin_(("processed",))).limit(3)).all()
    return {"by_status": {f"{s}/{a}": c for s, a, c in rows},
            "examples": [f"{r or ''} {e or ''}".strip()[:200] for r, e in reasons]}
