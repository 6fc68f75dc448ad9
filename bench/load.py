"""A small HTTP/1.1 load generator (asyncio, keep-alive), run in its own process.

`python -m bench.load` reads a JSON spec on stdin and prints a JSON result:
  {"port": 8000, "method": "GET", "path": "/d/3", "concurrency": 10, "duration": 5, "warmup": 1,
   "identities": [{"headers": {"Cookie": "..."}, "body": "a=b"}], "ok_status": [200], "requests": 0}
("requests", if given, ends the run after that many answers, whichever of it and duration comes first.)
Each client keeps one connection and sends requests back to back; client i uses identity
i % len(identities). Only 127.0.0.1 is ever contacted.
"""
from __future__ import annotations

import asyncio
import json
import sys
import time

USER_AGENT = "quorum-bench/1"
MAX_REQUESTS = 2_000_000  # per run, whatever the duration


def build_request(spec: dict, identity: dict) -> bytes:
    method, path = spec.get("method", "GET"), spec["path"]
    body = (identity.get("body") or spec.get("body") or "").encode()
    headers = {"Host": f"127.0.0.1:{spec['port']}", "User-Agent": USER_AGENT, "Accept": "text/html",
               "Accept-Encoding": "gzip", "Connection": "keep-alive"}
    headers.update(spec.get("headers") or {})
    headers.update(identity.get("headers") or {})
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Content-Length"] = str(len(body))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("latin-1") + (body if method == "POST" else b"")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return (status, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and "close" in value.lower():
            close = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, not close


async def client(spec: dict, request: bytes, stop_at: float, measure_from: float, results: dict, slot: int) -> None:
    ok_status = set(spec.get("ok_status") or [200])
    rotate = int(spec.get("rotate_source_every") or 0)
    limit = min(int(spec.get("requests") or MAX_REQUESTS), MAX_REQUESTS)
    reader = writer = None
    on_connection = 0
    while time.monotonic() < stop_at and results["count"] + results["connection_errors"] < limit:
        try:
            if writer is not None and rotate and on_connection >= rotate:
                writer.close()
                writer = None
            if writer is None:
                local = None
                if rotate:  # a new loopback source address, as members posting from their own connections
                    results["sources"] += 1
                    k = results["sources"]
                    local = (f"127.{1 + k // 62500 % 250}.{1 + k // 250 % 250}.{1 + k % 250}", 0)
                reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"], limit=1 << 22,
                                                               local_addr=local)
                on_connection = 0
            on_connection += 1
            started = time.monotonic()
            results["in_flight"][slot] = started
            writer.write(request)
            await writer.drain()
            status, keep = await asyncio.wait_for(read_response(reader), timeout=30)
            ended = time.monotonic()
            results["in_flight"][slot] = None
            results["count"] += 1
            if started >= measure_from:
                results["latencies"].append(ended - started)
                if status in ok_status:
                    results["ok"] += 1
                else:
                    results["errors"] += 1
                    results["statuses"][str(status)] = results["statuses"].get(str(status), 0) + 1
            if not keep:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError, IndexError) as error:
            results["in_flight"][slot] = None
            results["errors"] += 1
            results["connection_errors"] += 1
            results["statuses"][type(error).__name__] = results["statuses"].get(type(error).__name__, 0) + 1
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100 * (len(sorted_values) - 1)))))
    return sorted_values[k]


async def run(spec: dict) -> dict:
    identities = spec.get("identities") or [{}]
    concurrency = int(spec.get("concurrency", 1))
    warmup, duration = float(spec.get("warmup", 1)), float(spec.get("duration", 5))
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + duration
    results = {"count": 0, "ok": 0, "errors": 0, "latencies": [], "statuses": {}, "in_flight": [None] * concurrency,
               "sources": 0, "connection_errors": 0}
    requests = [build_request(spec, identities[i % len(identities)]) for i in range(concurrency)]
    tasks = [asyncio.ensure_future(client(spec, requests[i], stop_at, measure_from, results, i)) for i in range(concurrency)]
    # Responses still outstanding a little after the window closes are cut off, not waited for:
    # they count as unfinished, with their age so far as a lower bound on their latency.
    grace = min(5.0, max(1.0, duration))
    await asyncio.wait(tasks, timeout=stop_at - time.monotonic() + grace)
    ended = time.monotonic()
    unfinished = [ended - t for t in results["in_flight"] if t is not None and t >= measure_from]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = max(min(ended, stop_at + grace) - measure_from, 1e-9)
    done = len(results["latencies"])
    lat = sorted(results["latencies"] + unfinished)
    return {
        "requests": done, "unfinished": len(unfinished), "errors": results["errors"], "statuses": results["statuses"],
        # Only answers with an expected status count: a fast 429 or 500 is not throughput.
        "rps": results["ok"] / elapsed,
        "p50_ms": percentile(lat, 50) * 1000, "p95_ms": percentile(lat, 95) * 1000,
        "p99_ms": percentile(lat, 99) * 1000, "seconds": elapsed,
    }


def main() -> None:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(run(spec))))


if __name__ == "__main__":
    main()
