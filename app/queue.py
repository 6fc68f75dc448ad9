"""Redis and the RQ queue: the server from REDIS_URL, or an embedded one (app/embedded_redis.py)."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app
from redis import Redis
from rq import Queue

log = logging.getLogger(__name__)


def start_embedded_redis(instance: Path) -> str:
    """Start (or join, while its owner runs) the embedded server for this instance; its socket URL."""
    from .embedded_redis import start

    return start(instance).url


def stop_embedded_redis() -> None:
    """Stop every embedded server this process started (tests end with it; `quorum serve` too)."""
    from .embedded_redis import stop_all

    stop_all()


def init_app(app: Flask) -> None:
    """Decide the Redis URL once; child processes inherit it through REDIS_URL."""
    url = app.config.get("REDIS_URL")
    if not url:
        url = start_embedded_redis(Path(app.config["QUORUM_INSTANCE"]))
        app.config["REDIS_URL"] = url
    if url.startswith("unix://"):
        app.config.setdefault("RATELIMIT_STORAGE_URI", "redis+unix://" + url[len("unix://"):])
    else:
        app.config.setdefault("RATELIMIT_STORAGE_URI", url)
    app.extensions["quorum_redis"] = Redis.from_url(url)


def redis_client(app: Flask | None = None) -> Redis:
    return (app or current_app).extensions["quorum_redis"]


def queue(name: str = "default") -> Queue:
    """The RQ queue; tests may run jobs synchronously with RQ_ASYNC=False (still through Redis)."""
    return Queue(name, connection=redis_client(), is_async=current_app.config.get("RQ_ASYNC", True))


# Workers take jobs from these queues in order: replies from members first, then the rest.
QUEUES = ["inbound", "default"]


def through_outages(run, *, part: str, stopping=None) -> None:
    """Run `run()` (a worker's or the scheduler's loop) and, whenever Redis goes away under it,
    wait for Redis and run it again: an outage pauses the part, it never stops it (a crash here
    would only have the supervisor restart it into the same outage). Logged once each way.
    `stopping` (a threading.Event) ends the wait too, for a part running on a thread."""
    import signal
    import threading
    import time

    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

    client = redis_client()
    while True:
        try:
            run()
            return
        except (RedisConnectionError, RedisTimeoutError) as error:
            log.warning("%s: Redis is unreachable (%s); waiting for it to come back", part, error)
        if threading.current_thread() is threading.main_thread():
            # The part's own signal handlers went with it: Ctrl-C and SIGTERM stop the wait at once.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
        pause = 0.5
        while True:
            if stopping is not None and stopping.wait(pause):
                return
            if stopping is None:
                time.sleep(pause)
            try:
                client.ping()
                break
            except (RedisConnectionError, RedisTimeoutError):
                pause = min(pause * 2, 5.0)
        log.warning("%s: Redis is back; carrying on", part)
