"""Digests at scale: build and queue daily digests for N members, for two sizes, and compare.

On SQLite this uses `bench/digests.py` (the digests area's own script: teams of ~40 members and a
day of activity per team, so work per member is constant) when it is there. On PostgreSQL, or
without that script, it seeds the bench's own dataset (bench/seed.py) with N members instead:

Each size gets its own scratch database with the same activity (threads, comments, polls) and
N members who all chose a daily digest; `app.services.digests.run_due(now, ignore_hour=True)`
(what `quorum digest run --now` calls) builds every digest and queues its mail (OutboundMessage
rows and send jobs in Redis; no worker runs, so nothing is delivered).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os
import time
from pathlib import Path

from .seed import seed
from .stack import make_app, migrate, postgres_backend, sqlite_backend


def measure_digests(backend_name: str, folder: Path, args, redis_url: str) -> dict:
    if importlib.util.find_spec("app.services.digests") is None:
        return {"available": False, "why": "app/services/digests.py (issue 8) is absent"}
    from app.services import digests

    if not hasattr(digests, "run_due"):
        return {"available": False, "why": "app.services.digests has no run_due(now, ignore_hour=…) entry point"}
    runs = []
    own_script = None
    if backend_name == "sqlite" and importlib.util.find_spec("bench.digests") is not None:
        from . import digests as own_script
        if not hasattr(own_script, "measure"):
            own_script = None
    for members in args.digest_sizes:
        if own_script is not None:
            try:
                result = own_script.measure(members)
                result.update(source="bench/digests.py")
                runs.append(result)
                print(f"  digests: {members:,} members in {result['seconds']:.2f} s (bench/digests.py)", flush=True)
            except Exception as error:
                runs.append({"members": members, "error": f"{type(error).__name__}: {error}"[:400]})
            continue
        sub = folder / f"digests-{members}"
        sub.mkdir(parents=True, exist_ok=True)
        backend = (sqlite_backend(sub, redis_url) if backend_name == "sqlite"
                   else postgres_backend(os.environ["DATABASE_URL"], redis_url, f"dg{members}"))
        try:
            app = make_app(sub, backend)
            migrate(app)
            sizes = dataclasses.replace(args.sizes, members=members)
            with app.app_context():
                from app.extensions import db
                from app.models import utcnow

                seeded = seed(db.engine, sizes)
                now = utcnow()
                started = time.perf_counter()
                totals = digests.run_due(now, ignore_hour=True)
                seconds = time.perf_counter() - started
                db.session.remove()
                db.engine.dispose()
            runs.append({"members": members, "seconds": seconds, "seed_seconds": round(seeded.seconds, 2),
                         "source": "bench/seed.py",
                         "per_second": members / seconds if seconds else 0.0, **totals})
            print(f"  digests: {members:,} members in {seconds:.2f} s ({totals})", flush=True)
        except Exception as error:  # one size failing still reports the other
            runs.append({"members": members, "error": f"{type(error).__name__}: {error}"[:400]})
            print(f"  digests: {members:,} members failed: {runs[-1]['error']}", flush=True)
        finally:
            backend.cleanup()
    good = [r for r in runs if "seconds" in r]
    if len(good) < 2:
        return {"available": False, "why": "; ".join(r.get("error", "") for r in runs if "error" in r) or "too few runs",
                "runs": runs}
    small, big = good[0], good[-1]
    return {"available": True, "runs": good, "ratio": big["seconds"] / small["seconds"] if small["seconds"] else 0.0,
            "size_ratio": big["members"] / small["members"]}
