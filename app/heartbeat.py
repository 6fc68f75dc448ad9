"""Heartbeats: the worker and the scheduler each keep a short-lived key in Redis while they run,
and `/healthz` (and `quorum serve`, to know it is ready) reads them.

A beat says the process is alive and reaches Redis; it comes from a thread, so a long job (a
backup) does not make the worker look dead.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PARTS = ("worker", "scheduler")
INTERVAL = 2.0  # seconds between beats
TTL = 10  # seconds a beat counts for: a part missing five beats is down


def key(part: str) -> str:
    return f"quorum:heartbeat:{part}"


def beat(redis: Redis, part: str) -> None:
    redis.set(key(part), f"{os.getpid()} {time.time():.0f}", ex=TTL)


def alive(redis: Redis, parts=PARTS) -> dict[str, bool]:
    """Which parts beat within TTL (raises RedisError when Redis cannot tell)."""
    values = redis.mget([key(part) for part in parts])
    return {part: value is not None for part, value in zip(parts, values)}


def clear(redis: Redis, parts=PARTS) -> None:
    """Forget earlier beats (a fresh `quorum serve` must not count a previous run's parts as up)."""
    redis.delete(*[key(part) for part in parts])


def start_beating(redis: Redis, part: str, alive=None) -> threading.Thread:
    """Beat every INTERVAL seconds from a daemon thread for as long as the process lives, or, given
    `alive` (a callable), for as long as it says the part runs (a part on a thread of a process
    that runs others: `quorum background`)."""

    def run() -> None:
        failing = False
        while alive is None or alive():
            try:
                beat(redis, part)
                if failing:
                    log.info("%s heartbeat: Redis answers again", part)
                failing = False
            except RedisError as error:
                if not failing:  # once per outage, not once per beat
                    log.warning("%s heartbeat: Redis is unreachable (%s)", part, error)
                failing = True
            time.sleep(INTERVAL)
        try:
            redis.delete(key(part))  # the part stopped: /healthz says so at once, not after TTL
        except RedisError:
            pass

    thread = threading.Thread(target=run, name=f"{part}-heartbeat", daemon=True)
    thread.start()
    return thread
