"""What `/healthz` reports: each part of Quorum up, down, or unknown (when Redis, which holds the
heartbeats, cannot be asked). `quorum serve` is ready when every part is up."""
from __future__ import annotations

import socket

from flask import Flask
from sqlalchemy import text

from . import heartbeat
from .extensions import db
from .queue import redis_client

PARTS = ("web", "smtp", "worker", "scheduler", "database", "redis")
SMTP_TIMEOUT = 1.0


def report(app: Flask) -> dict:
    """{"status": "ok"|"down", "parts": {part: "up"|"down"|"unknown"}, "down": [parts not up]}."""
    parts = {"web": "up"}  # this answer is the web app's
    parts["smtp"] = "up" if smtp_answers(app.config["SMTP_LISTEN"]) else "down"
    try:
        db.session.execute(text("SELECT 1"))
        parts["database"] = "up"
    except Exception:  # noqa: BLE001 - any failure is "down"; the health check never fails itself
        db.session.rollback()
        parts["database"] = "down"
    try:
        redis = redis_client(app)
        redis.ping()
        beats = heartbeat.alive(redis)
        parts["redis"] = "up"
        parts.update({part: "up" if beating else "down" for part, beating in beats.items()})
    except Exception:  # noqa: BLE001
        parts["redis"] = "down"
        parts.update({part: "unknown" for part in heartbeat.PARTS})
    ordered = {part: parts[part] for part in PARTS}
    not_up = [part for part in PARTS if ordered[part] != "up"]
    return {"status": "down" if not_up else "ok", "parts": ordered, "down": not_up}


def smtp_answers(listen: str, timeout: float = SMTP_TIMEOUT) -> bool:
    """The inbound SMTP server accepts a connection and greets with 220 (then we say QUIT)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as conn:
            greeting = conn.makefile("rb").readline(512)
            conn.sendall(b"QUIT\r\n")
            return greeting.startswith(b"220")
    except (OSError, ValueError):
        return False
