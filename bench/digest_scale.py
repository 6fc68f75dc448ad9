"""Digests at scale: build and queue daily digests for N members, for two sizes, and compare."""
from __future__ import annotations

import importlib.util
from pathlib import Path


def measure_digests(backend_name: str, folder: Path, args, redis_url: str) -> dict:
    if importlib.util.find_spec("app.services.digests") is None:
        return {"available": False, "why": "app/services/digests.py (issue 8) is absent"}
    return {"available": False, "why": "app/services/digests.py exists but the bench does not drive it yet"}
