"""`quorum background`, the one process in which `quorum serve` runs the SMTP server, the worker and
the scheduler: it does all three parts' work, a part that cannot run stops the process (so the
supervisor restarts it) instead of leaving the others running half-dead, and SIGTERM stops it
cleanly, handing the scheduler's lead on."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis

from app.email.addresses import reply_address
from app.heartbeat import alive
from app.schedule import LEADER_KEY
from tests.factories import DiscussionFactory, GroupFactory, member
from tests.inbound.conftest import reply

from .harness import wait_until

REPO = Path(__file__).resolve().parents[2]


def test_one_process_accepts_a_reply_posts_it_and_mails_it_out_then_stops_cleanly(fault_stack):
    stack = fault_stack()
    with stack.in_app():
        group = GroupFactory(handle="together", name="Together")
        alice = member(group, email="alice@example.org")
        member(group, email="reader@example.org")
        thread = DiscussionFactory(group=group, author=alice, title="One process")
        to = reply_address(alice, "discussion", thread.id)
    stack.start("background")
    redis = Redis.from_url(stack.redis.url)
    wait_until(lambda: alive(redis) == {"worker": True, "scheduler": True}, message="the worker and scheduler beats")

    raw = reply(to=to, subject="Re: One process", body="Written by email, posted and sent on by one process.\n")
    code, text = stack.send_mail(raw, "alice@example.org", to)
    assert code == 250, text
    # The worker of the same process posts it and mails the other member.
    wait_until(lambda: stack.relay.recipients("One process").get("reader@example.org"), message="the reader's copy")
    assert redis.get(LEADER_KEY) is not None  # the scheduler thread leads

    process = stack.process("background")
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert time.monotonic() - started < 10
    assert redis.get(LEADER_KEY) is None  # a clean stop hands the scheduler's lead on at once
    assert stack.relay.recipients("One process") == {"reader@example.org": 1}


def test_a_part_that_cannot_run_stops_the_process_with_its_reason(fault_stack):
    stack = fault_stack()
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", stack.stack.smtp_port))  # the SMTP thread cannot listen
    squatter.listen()
    try:
        process = stack.stack.start("background", stack.argv("background"), env=stack.env())
        assert process.wait(60) == 1
    finally:
        squatter.close()
    assert "address already in use" in stack.log("background").lower()
    assert not alive(Redis.from_url(stack.redis.url))["worker"]  # the worker never started


WATCHDOG = """
import os, signal, sys, threading, time
from app import background

background.FAIL_GRACE = float(sys.argv[1])
signal.signal(signal.SIGTERM, lambda *_: print("SIGTERM", flush=True) if sys.argv[2] == "ignore" else sys.exit(3))
part = threading.Thread(target=time.sleep, args=(0.3,))  # a part that ends on its own: it died
lives = threading.Thread(target=time.sleep, args=(60,), daemon=True)
part.start(); lives.start()
dog = background.Watchdog({"smtp": part, "scheduler": lives}, threading.Event())
dog.start()
while True:
    time.sleep(0.05)
"""


def test_the_watchdog_stops_the_process_when_a_part_ends_and_exits_if_it_will_not_stop():
    # A worker that stops on SIGTERM: the process ends as soon as the part has died.
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", WATCHDOG, "30", "obey"], cwd=REPO, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 3, done.stderr
    assert time.monotonic() - started < 10
    assert "the smtp part stopped" in done.stderr
    # A worker that will not stop (a job that never ends): the process exits anyway after FAIL_GRACE.
    done = subprocess.run([sys.executable, "-c", WATCHDOG, "1", "ignore"], cwd=REPO, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 1, done.stderr
    assert "SIGTERM" in done.stdout
    assert "did not stop within 1 s after the smtp part died" in done.stderr
