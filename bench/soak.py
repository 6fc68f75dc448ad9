"""`make bench BENCH_ARGS="--soak 100000"`: hammer the thread page and count gunicorn worker deaths.

The web app runs as `quorum serve` runs it (`python -m app web`: gunicorn, no `--preload`, the
documented settings); the load generator (bench/load.py, its own process) sends the requests in
chunks so progress shows and every wait is bounded. Worker deaths are read from gunicorn's log:
"Worker (pid:…) was sent SIGSEGV!", "Worker (pid:…) exited with code …", and each "Booting worker"
beyond the first WEB_WORKERS is a replacement.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from . import web
from .run import external_redis, start_redis
from .stack import Stack, free_port, postgres_backend, quorum_argv, seeded_app, sqlite_backend, wait_for_http

CHUNK = 10_000  # requests per load-generator run

SIGNAL_RE = re.compile(r"Worker \(pid:(\d+)\) was sent (SIG\w+)")
EXIT_RE = re.compile(r"Worker \(pid:(\d+)\) exited with code (\d+)")
BOOT_RE = re.compile(r"Booting worker with pid: (\d+)")
TIMEOUT_RE = re.compile(r"WORKER TIMEOUT \(pid:(\d+)\)")


def say(message: str) -> None:
    print(f"  {message}", flush=True)


def worker_deaths(log_text: str, workers: int) -> dict:
    """What gunicorn's log says happened to its workers (a SIGTERM at the end is not a death)."""
    signals: dict[str, int] = {}
    for _pid, name in SIGNAL_RE.findall(log_text):
        if name != "SIGTERM":
            signals[name] = signals.get(name, 0) + 1
    exits = [int(code) for _pid, code in EXIT_RE.findall(log_text)]
    boots = len(BOOT_RE.findall(log_text))
    deaths = sum(signals.values()) + len([c for c in exits if c != 0])
    return {"deaths": deaths, "signals": signals, "exit_codes": exits, "timeouts": len(TIMEOUT_RE.findall(log_text)),
            "workers_booted": boots, "replacements": max(0, boots - workers)}


def run_soak(name: str, folder: Path, args) -> dict:
    """Seed, start the web app, send `args.soak` thread-page requests at `args.soak_clients` clients."""
    folder.mkdir(parents=True, exist_ok=True)
    redis_server = None
    if name == "postgresql" and os.environ.get("REDIS_URL"):
        redis_url = external_redis(os.environ["REDIS_URL"])
    else:
        redis_server, redis_url = start_redis(folder / "redis")
    backend = (sqlite_backend(folder, redis_url) if name == "sqlite"
               else postgres_backend(os.environ["DATABASE_URL"], redis_url, "soak"))
    stack = Stack(folder, backend, web_port=free_port(), smtp_port=free_port(), workers=args.web_workers)
    try:
        app, seeded = seeded_app(folder, backend, args.sizes)
        path = f"/d/{seeded.thread_50}"
        say(f"seeded {seeded.rows['users']} members, {seeded.rows['comments']} comments; soaking GET {path}")
        stack.start("web", quorum_argv("web"))
        if not wait_for_http(f"http://127.0.0.1:{stack.web_port}/healthz", 60, stack.processes["web"]):
            raise RuntimeError("the web app did not answer /healthz within 60 s:\n" + stack.log_tail("web"))
        identities = web.mint_cookies(app, seeded.member_ids[: args.soak_clients])
        probe = web.request(stack.web_port, "GET", path, {"Cookie": identities[0].cookie})
        if probe.status != 200:
            raise RuntimeError(f"GET {path} answered {probe.status}: {stack.last_error('web')}")
        return hammer(stack, path, identities, args)
    finally:
        stack.stop_all()
        backend.cleanup()
        if redis_server is not None:
            try:
                redis_server.shutdown()
            except Exception:  # noqa: BLE001 - the server closes the connection as it stops
                pass


def hammer(stack: Stack, path: str, identities, args) -> dict:
    spec = {"port": stack.web_port, "method": "GET", "path": path, "concurrency": args.soak_clients,
            "warmup": 0, "ok_status": [200], "identities": [{"headers": {"Cookie": i.cookie}} for i in identities]}
    totals = {"requests": 0, "ok": 0, "errors": 0, "statuses": {}}
    latencies_p95: list[float] = []
    started = time.monotonic()
    while totals["requests"] < args.soak:
        chunk = min(CHUNK, args.soak - totals["requests"])
        # A chunk at even 20 req/s takes 500 s; the duration is only a bound, the count ends it.
        result = web.run_load(dict(spec, requests=chunk, duration=chunk / 5), timeout=chunk / 5 + 60)
        sent = result["requests"] + result["unfinished"] + sum(
            n for k, n in result["statuses"].items() if not k.isdigit())
        totals["requests"] += max(sent, 1)
        totals["ok"] += result["requests"] - sum(n for k, n in result["statuses"].items() if k.isdigit())
        totals["errors"] += result["errors"] + result["unfinished"]
        for key, n in result["statuses"].items():
            totals["statuses"][key] = totals["statuses"].get(key, 0) + n
        latencies_p95.append(result["p95_ms"])
        deaths = worker_deaths(stack.logs["web"].read_text(errors="replace"), stack.workers)
        elapsed = time.monotonic() - started
        say(f"{totals['requests']:>7} requests  {totals['errors']} errors  {deaths['deaths']} worker deaths  "
            f"{result['rps']:.0f} req/s  p95 {result['p95_ms']:.0f} ms  ({elapsed:.0f} s)")
        if stack.processes["web"].poll() is not None:
            totals["why_stopped"] = "gunicorn's master exited: " + stack.log_tail("web", 5)
            break
    seconds = time.monotonic() - started
    deaths = worker_deaths(stack.logs["web"].read_text(errors="replace"), stack.workers)
    return {"path": path, "clients": args.soak_clients, **totals, "seconds": round(seconds, 1),
            "rps": round(totals["ok"] / seconds, 1) if seconds else 0.0,
            "worst_chunk_p95_ms": round(max(latencies_p95, default=0.0), 1), **deaths,
            "last_server_error": stack.last_error("web")}


def table(results: dict) -> str:
    rows = []
    for name, r in results["backends"].items():
        if "error" in r:
            rows.append(f"{name:<11} failed: {r['error']}")
            continue
        signals = ", ".join(f"{k} {v}" for k, v in r["signals"].items()) or "none"
        rows.append(f"{name:<11} {r['requests']} requests at {r['clients']} clients in {r['seconds']:.0f} s "
                    f"({r['rps']:.0f} req/s): {r['errors']} errors, {r['deaths']} worker deaths "
                    f"(signals: {signals}; replacements booted: {r['replacements']})")
    return "Soak of the thread page\n" + "\n".join(rows)
