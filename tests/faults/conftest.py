"""Fixtures for the fault suite: a whole stack per test, closed (every process stopped) after it."""
from __future__ import annotations

import os

import pytest

from .harness import FaultStack


@pytest.fixture
def fault_stack(tmp_path, dns_server):
    """Call `fault_stack(**settings)` for a stack (no part started yet) with extra environment."""
    made: list[FaultStack] = []

    def make(**settings) -> FaultStack:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        stack = FaultStack(tmp_path / f"instance{len(made)}", dns_server.address, f"faults_{worker}_{len(made)}",
                           settings)
        made.append(stack)
        return stack

    dns_server.start()
    dns_server.records.reset()
    yield make
    for stack in made:
        stack.close()
