"""`python -m bench --multi-web`: one web process against two, as two web hosts behind a proxy are.

Each web process is `quorum web` with one gunicorn worker (WEB_WORKERS=1), its own instance
folder, and only DATABASE_URL, REDIS_URL, STORAGE_URL and the keys in common with the other, as
on two hosts. The thread page is loaded by the same number of clients in both layouts; with two
processes the clients are split between them (what Caddy's round-robin does). Numbers are
requests per second; on a machine with two cores the load generator shares them, so "twice"
is the ceiling, not the expectation.
"""
from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .stack import REPO, Stack, free_port, quorum_argv, seeded_app, sqlite_backend, postgres_backend, wait_for_http
from . import web


def say(message: str) -> None:
    print(message, flush=True)


def _load(port: int, path: str, identities: list, clients: int, duration: float, warmup: float) -> dict:
    spec = {"port": port, "method": "GET", "path": path, "concurrency": clients, "duration": duration,
            "warmup": warmup, "ok_status": [200], "identities": identities}
    return web.run_load(spec, timeout=duration + warmup + 90)


def measure(folder: Path, args, database_url: str | None, redis_url: str) -> dict:
    import os

    backend = (postgres_backend(database_url, redis_url, "multiweb") if database_url
               else sqlite_backend(folder / "shared", redis_url))
    (folder / "shared").mkdir(parents=True, exist_ok=True)
    data_key = base64.b64encode(secrets.token_bytes(32)).decode()
    app, seeded = seeded_app(folder / "shared", backend, args.sizes)
    path = f"/d/{seeded.thread_50}"
    clients = max(args.levels)
    identities = [{"headers": {"Cookie": i.cookie}} for i in web.mint_cookies(app, seeded.member_ids[:clients])]
    results: dict = {"path": path, "clients": clients, "backend": backend.name}
    try:
        for count in (1, 2):
            stacks = []
            for index in range(count):
                host = folder / f"host{count}-{index}"
                host.mkdir(parents=True, exist_ok=True)
                stack = Stack(host, backend, web_port=free_port(), smtp_port=free_port(), workers=1)
                env = stack.env()
                env.update({"STORAGE_URL": f"file://{folder / 'shared' / 'files'}", "QUORUM_DATA_KEY": data_key})
                process = stack.start("web", quorum_argv("web"), env=env)
                if not wait_for_http(f"http://127.0.0.1:{stack.web_port}/healthz", 60, process):
                    raise RuntimeError("a web process did not start: " + stack.log_tail("web", 10))
                stacks.append(stack)
            try:
                for stack in stacks:  # warm each process (templates, connections)
                    _load(stack.web_port, path, identities[:2], 2, 1.0, 0.2)
                share = [identities[i::count] for i in range(count)]
                with ThreadPoolExecutor(count) as pool:
                    runs = list(pool.map(lambda pair: _load(pair[0].web_port, path, pair[1], max(1, clients // count),
                                                            args.duration, args.warmup), zip(stacks, share)))
            finally:
                for stack in stacks:
                    stack.stop_all()
            rps = sum(r["rps"] for r in runs)
            errors = sum(r["errors"] for r in runs)
            p95 = max(r["p95_ms"] for r in runs)
            results[f"{count}_web"] = {"rps": round(rps, 1), "p95_ms": round(p95, 1), "errors": errors}
            say(f"{count} web process{'es' if count > 1 else ''} (1 gunicorn worker each), {clients} clients on "
                f"{path}: {rps:8.1f} req/s  p95 {p95:6.1f} ms" + (f"  errors {errors}" if errors else ""))
        results["ratio"] = round(results["2_web"]["rps"] / max(results["1_web"]["rps"], 0.001), 2)
        say(f"two web processes / one: ×{results['ratio']:.2f} (on {os.cpu_count()} cores, load generator included)")
    finally:
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
        backend.cleanup()
    return results
