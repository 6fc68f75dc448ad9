"""Fixtures for the fault suite: a whole stack per test, closed (every process stopped) after it."""
from __future__ import annotations

import os

import pytest

from .harness import FaultStack


@pytest.fixture
def fault_stack(tmp_path, dns_server):
    """Call `fault_stack(**settings)` for a stack (no part started yet) with extra environment
    (and `database_url=` for a database of the test's own)."""
    made: list[FaultStack] = []

    def make(database_url: str | None = None, **settings) -> FaultStack:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        stack = FaultStack(tmp_path / f"instance{len(made)}", dns_server.address, f"faults_{worker}_{len(made)}",
                           settings, database_url)
        made.append(stack)
        return stack

    dns_server.start()
    dns_server.records.reset()
    yield make
    for stack in made:
        stack.close()


@pytest.fixture
def private_postgres():
    """A PostgreSQL server of the test's own, which it may stop and start (closed after the stack)."""
    from .harness import PrivatePostgres

    server = PrivatePostgres()
    if not server.available:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed: restart test skipped")
    server.init()
    yield server
    server.close()
