"""`make bench`: Quorum's quality targets as numbers, each beside a baseline measured in the same run.

  python -m bench              the default dataset on SQLite (and PostgreSQL if DATABASE_URL is set)
  python -m bench --quick      a tiny dataset and short runs (about a minute)
  python -m bench --soak N     only N thread-page requests at 10 clients, counting gunicorn worker deaths
  python -m bench --multi-web  one web process against two (as two web hosts), thread page req/s
  python -m bench --peers      also FlaskBB and GNU Mailman 3 core, installed into a scratch folder
See docs/PERFORMANCE.md for what each figure means.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import report
from .seed import Sizes
from .stack import REPO

SECTIONS = ("queries", "memory", "weight", "pages", "mail", "delivery", "digests")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny dataset, short runs (about a minute)")
    p.add_argument("--members", type=int)
    p.add_argument("--groups", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--comments", type=int)
    p.add_argument("--polls", type=int)
    p.add_argument("--duration", type=float, help="seconds measured per load run (default 4, quick 0.5)")
    p.add_argument("--concurrency", default="1,10,50", help="client counts for the page runs")
    p.add_argument("--mail", type=int, help="replies in the inbound burst (default 2000, quick 100)")
    p.add_argument("--mail-clients", type=int, default=8, help="parallel smtplib clients")
    p.add_argument("--delivery", type=int, help="replies to a 40-member group timed to the relay (default 200, quick 10)")
    p.add_argument("--digest-members", default=None, help="member counts for the digest runs (default 1000,10000)")
    p.add_argument("--web-workers", type=int, default=None,
                   help="gunicorn workers for Quorum's web, the baseline and FlaskBB (default: WEB_WORKERS's default, 1)")
    p.add_argument("--backend", choices=("all", "sqlite", "postgresql"), default="all",
                   help="postgresql runs only when DATABASE_URL names a PostgreSQL server")
    p.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SECTIONS)}")
    p.add_argument("--out", default=str(REPO / "bench" / "results.json"))
    p.add_argument("--keep", action="store_true", help="keep the scratch instance folders (logs, database)")
    p.add_argument("--soak", type=int, default=0, metavar="N",
                   help="instead of the figures: N requests of the thread page; report errors and worker deaths")
    p.add_argument("--soak-clients", type=int, default=10, help="parallel clients of the soak")
    p.add_argument("--multi-web", action="store_true",
                   help="instead of the figures: one web process against two (bench/multiweb.py)")
    p.add_argument("--peers", action="store_true",
                   help="also measure FlaskBB and GNU Mailman 3 core beside Quorum (bench/peers/), installed by pip "
                        "into a scratch folder outside the repository")
    p.add_argument("--peers-dir", default=None,
                   help="the peers' venvs (default $XDG_CACHE_HOME/quorum-bench-peers), reused while their pins match")
    args = p.parse_args(argv)
    base = Sizes.quick() if args.quick else Sizes()
    for name in ("members", "groups", "threads", "comments", "polls"):
        if getattr(args, name) is not None:
            setattr(base, name, getattr(args, name))
    args.sizes = base
    if args.web_workers is None:
        from app.config import DEFAULT_WEB_WORKERS

        args.web_workers = DEFAULT_WEB_WORKERS
    args.duration = args.duration or (0.5 if args.quick else 4.0)
    args.warmup = 0.2 if args.quick else 1.0
    args.mail = args.mail or (100 if args.quick else 2000)
    args.delivery = args.delivery or (10 if args.quick else 200)
    args.digest_sizes = [int(x) for x in (args.digest_members or ("50,500" if args.quick else "1000,10000")).split(",")]
    args.levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
    args.sections = set(args.only.split(",")) if args.only else set(SECTIONS)
    return args


def backends(args) -> list[str]:
    out = []
    if args.backend in ("all", "sqlite"):
        out.append("sqlite")
    url = os.environ.get("DATABASE_URL", "")
    if args.backend in ("all", "postgresql"):
        if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
            out.append("postgresql")
        elif args.backend == "postgresql":
            sys.exit("--backend postgresql needs DATABASE_URL=postgresql://… (a server where a scratch database may be created)")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.soak:
        return soak(args)
    if args.multi_web:
        return multi_web(args)
    started = time.monotonic()
    results = {"machine": report.machine(), "quick": args.quick, "sizes": vars(args.sizes),
               "settings": {"duration": args.duration, "warmup": args.warmup, "concurrency": args.levels,
                            "mail": args.mail, "mail_clients": args.mail_clients, "digest_members": args.digest_sizes},
               "backends": {}}
    root = Path(tempfile.mkdtemp(prefix="qb-"))
    print(f"Quorum bench: scratch instances under {root}", flush=True)
    from .run import run_backend

    try:
        for name in backends(args):
            print(f"\n== {name} ==", flush=True)
            try:
                results["backends"][name] = run_backend(name, root / name, args)
            except Exception as error:  # one backend failing must not lose the other's figures
                print("".join(traceback.format_exception(error, limit=-3))[-3000:], file=sys.stderr, flush=True)
                results["backends"][name] = {"error": f"{type(error).__name__}: {error}"}
        if args.peers:
            from .peers import run_peers

            print("\n== peers ==", flush=True)
            results["peers"] = run_peers(args, root / "peers")
            results["peers"]["comparison"] = report.peer_rows(results)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - started, 1)
    results["targets"] = report.evaluate(results)
    report.write(results, Path(args.out))
    print("\n" + report.table(results), flush=True)
    print(f"\nWrote {args.out} ({results['seconds']:.0f} s)" + (f"; instances kept in {root}" if args.keep else ""))
    return 0


def soak(args) -> int:
    """The soak run: its own results file (bench/soak.json unless --out names one)."""
    import json

    from . import soak as soaking

    out = Path(args.out) if args.out != str(REPO / "bench" / "results.json") else REPO / "bench" / "soak.json"
    results = {"machine": report.machine(), "soak": args.soak, "clients": args.soak_clients,
               "sizes": vars(args.sizes), "backends": {}}
    root = Path(tempfile.mkdtemp(prefix="qb-soak-"))
    print(f"Quorum soak: scratch instances under {root}", flush=True)
    try:
        for name in backends(args):
            print(f"\n== {name} ==", flush=True)
            try:
                results["backends"][name] = soaking.run_soak(name, root / name, args)
            except Exception as error:  # one backend failing must not lose the other's figures
                print("".join(traceback.format_exception(error, limit=-3))[-3000:], file=sys.stderr, flush=True)
                results["backends"][name] = {"error": f"{type(error).__name__}: {error}"}
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n" + soaking.table(results), flush=True)
    print(f"\nWrote {out}" + (f"; instances kept in {root}" if args.keep else ""))
    failed = any("error" in r or r["deaths"] or r["errors"] for r in results["backends"].values())
    return 1 if failed else 0


def multi_web(args) -> int:
    """One web process against two: its own results file (bench/multiweb.json unless --out names one)."""
    import json

    from . import multiweb
    from .run import start_redis

    out = Path(args.out) if args.out != str(REPO / "bench" / "results.json") else REPO / "bench" / "multiweb.json"
    root = Path(tempfile.mkdtemp(prefix="qb-multi-"))
    redis_server, redis_url = start_redis(root / "redis")
    url = os.environ.get("DATABASE_URL", "")
    database_url = url if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")) else None
    try:
        result = multiweb.measure(root, args, database_url if args.backend != "sqlite" else None, redis_url)
    finally:
        try:
            redis_server.shutdown()
        except Exception:
            pass
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    out.write_text(json.dumps({"machine": report.machine(), "sizes": vars(args.sizes), **result}, indent=2) + "\n")
    print(f"\nWrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
