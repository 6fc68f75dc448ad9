"""Shared set-up for the outbound email tests: a group with a thread, and a local SMTP relay."""
from __future__ import annotations

import socket

import pytest
from aiosmtpd.controller import Controller


class Recorder:
    """An aiosmtpd handler playing the relay: records every envelope; can answer 4xx on demand."""

    def __init__(self):
        self.envelopes = []
        self.refuse_next = 0
        self.peers = []  # the client's (address, port) per message: one per connection it used

    async def handle_DATA(self, server, session, envelope):
        self.peers.append(session.peer)
        if self.refuse_next:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        self.envelopes.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def relay_port():
    return free_port()


@pytest.fixture
def start_relay(relay_port):
    """Call to bring the relay up on relay_port (so a test can first find it down)."""
    controllers = []

    def start(**options):
        recorder = Recorder()
        controller = Controller(recorder, hostname="127.0.0.1", port=relay_port, **options)
        controller.start()
        controllers.append(controller)
        return recorder

    def stop_all():
        while controllers:
            controllers.pop().stop()

    start.stop_all = stop_all
    yield start
    stop_all()
