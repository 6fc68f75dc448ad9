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
