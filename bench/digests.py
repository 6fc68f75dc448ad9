"""Digest build speed: daily digests for 1,000 and 10,000 members with realistic activity.

    .venv/bin/python bench/digests.py                 # 1,000 and 10,000 members
    .venv/bin/python bench/digests.py --sizes 500 5000

Self-contained: each size gets a scratch SQLite instance (embedded Redis), seeded with groups of
about 40 members (each member also in a neighbouring group, as in an organisation with teams),
and a day of activity per group: threads, comments, an open poll closing within the day and a
closed poll with votes. Most memberships are "digest", some "all" (their mail already sent, so
the digest skips it), some "mentions". Everyone chose a daily digest. It then times
`app.services.digests.run_due(now, ignore_hour=True)` — what `quorum digest run --now` does:
find who is due, build every digest, claim it and queue its mail (send jobs wait in Redis).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GROUP_SIZE = 40
THREADS_PER_GROUP = 2
COMMENTS_PER_GROUP = 8
WORDS = ("garden seeds compost meeting budget rota paint shed picnic minutes agenda water tools "
         "volunteers weekend bench roof fence harvest plan tidy order hall key lock").split()


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def seed(db, members: int, now, rng: random.Random) -> None:
    """Bulk-insert members, groups, memberships and a day of activity (core inserts, fast)."""
    from app.models import (Comment, Discussion, Event, Group, Membership, OutboundMessage, Participation, Poll,
                            PollOption, ReadState, Stance, StanceChoice, User)

    def insert(model, rows):
        if rows:
            db.session.execute(model.__table__.insert(), rows)

    day_ago = now - timedelta(hours=20)
    users = [dict(id=i, email=f"m{i}@example.org", name=f"Member {i}", time_zone="Europe/Berlin", locale="en",
                  digest_frequency="daily", digest_weekday=0, digest_hour=7, created_at=day_ago - timedelta(days=30),
                  is_site_admin=False, mail_token_generation=0, bounce_score=0)
             for i in range(1, members + 1)]
    insert(User, users)
    n_groups = max(1, members // GROUP_SIZE)
    insert(Group, [dict(id=g, name=f"Team {g}", handle=f"team{g}", description="", privacy="closed",
                        created_at=day_ago - timedelta(days=30)) for g in range(1, n_groups + 1)])
    volumes = ["digest"] * 6 + ["all"] * 2 + ["mentions"] * 2
    memberships, by_group, all_volume = [], {g: [] for g in range(1, n_groups + 1)}, set()
    for uid in range(1, members + 1):
        home = min(n_groups, (uid - 1) // GROUP_SIZE + 1)
        groups = {home} | ({home % n_groups + 1} if rng.random() < 0.5 else set())
        for g in groups:
            volume = rng.choice(volumes)
            memberships.append(dict(group_id=g, user_id=uid, role="member", volume=volume, created_at=day_ago))
            by_group[g].append(uid)
            if volume == "all":
                all_volume.add((g, uid))
    insert(Membership, memberships)
    discussions, comments, events, polls, options, stances, choices, parts, reads, outbound = ([] for _ in range(10))
    ids = {"d": 0, "c": 0, "e": 0, "p": 0, "o": 0, "s": 0}

    def next_id(kind):
        ids[kind] += 1
        return ids[kind]

    def event(kind, g, at, actor, **fields):
        eid = next_id("e")
        events.append(dict(id=eid, kind=kind, group_id=g, actor_id=actor, created_at=at, fanned_out_at=at, data={},
                           discussion_id=fields.get("discussion_id"), comment_id=fields.get("comment_id"),
                           poll_id=fields.get("poll_id")))
        for uid in by_group[g]:
            if (g, uid) in all_volume and uid != actor:
                outbound.append(dict(dedupe_key=f"event:{eid}:user:{uid}", message_id=f"<e{eid}.u{uid}@bench>",
                                     kind=kind, user_id=uid, to_address=f"m{uid}@example.org", envelope_from="",
                                     status="sent", attempts=1, created_at=at, event_id=eid))

    for g, people in by_group.items():
        if not people:
            continue
        for _ in range(THREADS_PER_GROUP):
            did, author, at = next_id("d"), rng.choice(people), day_ago + timedelta(minutes=rng.randrange(600))
            discussions.append(dict(id=did, group_id=g, author_id=author, title=text(rng, 4), created_at=at,
                                    body=text(rng, 40) + "\n\n" + text(rng, 60), last_activity_at=at,
                                    comments_count=COMMENTS_PER_GROUP // THREADS_PER_GROUP, source="web"))
            event("discussion_started", g, at, author, discussion_id=did)
            for n in range(COMMENTS_PER_GROUP // THREADS_PER_GROUP):
                cid, who = next_id("c"), rng.choice(people)
                c_at = at + timedelta(minutes=30 * (n + 1))
                comments.append(dict(id=cid, discussion_id=did, author_id=who, body=text(rng, 30), created_at=c_at,
                                     source="web"))
                event("comment_posted", g, c_at, who, discussion_id=did, comment_id=cid)
                reads.append(dict(user_id=who, discussion_id=did, last_read_at=c_at, read_comments_count=n + 1,
                                  participating=True)) if n == 0 else None
        for closed in (False, True):
            pid, author = next_id("p"), rng.choice(people)
            at = day_ago + timedelta(minutes=rng.randrange(300))
            polls.append(dict(id=pid, group_id=g, author_id=author, poll_type="proposal", title=text(rng, 5),
                              details=text(rng, 20), created_at=at, anonymous=closed,
                              closing_at=(now - timedelta(hours=1)) if closed else (now + timedelta(hours=12)),
                              closed_at=(now - timedelta(hours=1)) if closed else None, hide_results="off",
                              voter_scope="group", reason_mode="optional", reason_max_length=2000,
                              allow_none_of_the_above=False, time_zone="UTC"))
            opts = []
            for priority, name in enumerate(("Agree", "Abstain", "Disagree", "Block")):
                oid = next_id("o")
                opts.append(oid)
                options.append(dict(id=oid, poll_id=pid, name=name, priority=priority))
            event("poll_created", g, at, author, poll_id=pid)
            if closed:
                for voter in rng.sample(people, min(10, len(people))):
                    sid = next_id("s")
                    stances.append(dict(id=sid, poll_id=pid, participant_id=None, latest=True, source="web"))
                    choices.append(dict(stance_id=sid, poll_option_id=rng.choice(opts[:3]), score=1))
                    parts.append(dict(poll_id=pid, user_id=voter))
                event("poll_closed", g, now - timedelta(hours=1), None, poll_id=pid)
    for model, rows in ((Discussion, discussions), (Comment, comments), (Poll, polls), (PollOption, options),
                        (Stance, stances), (StanceChoice, choices), (Participation, parts), (Event, events),
                        (OutboundMessage, outbound)):
        insert(model, rows)
    unique_reads = {(r["user_id"], r["discussion_id"]): r for r in reads}
    insert(ReadState, list(unique_reads.values()))
    db.session.commit()
    return len(events)


def measure(members: int, seed_value: int = 8) -> dict:
    from app import create_app
    from app.extensions import db
    from app.models import utcnow
    from app.services import digests

    folder = Path(tempfile.mkdtemp(prefix=f"quorum-digest-bench-{members}-"))
    app = create_app({"QUORUM_INSTANCE": str(folder), "SECRET_KEY": "bench", "QUORUM_DEMO": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'quorum.db'}", "SMTP_URL": None,
                      "RQ_ASYNC": True, "BASE_URL": "http://127.0.0.1", "MAIL_DOMAIN": "bench.test"})
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        now = utcnow()
        started = time.perf_counter()
        n_events = seed(db, members, now, random.Random(seed_value))
        seeded = time.perf_counter() - started
        started, cpu_started = time.perf_counter(), time.process_time()
        totals = digests.run_due(now, ignore_hour=True)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        db.session.remove()
    from app.queue import stop_embedded_redis

    stop_embedded_redis()  # the app above started one (no REDIS_URL); leave no process behind
    return {"members": members, "events": n_events, "seed_seconds": seeded, "seconds": seconds, "cpu_seconds": cpu,
            "per_second": members / seconds, **totals}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args(argv)
    runs = []
    for members in args.sizes:
        run = measure(members)
        runs.append(run)
        print(f"{run['members']:>7,} members, {run['events']:>6,} events: {run['seconds']:6.2f} s wall, "
              f"{run['cpu_seconds']:6.2f} s CPU ({run['per_second']:,.0f} digests/s; sent {run['sent']:,}, empty {run['empty']:,}; "
              f"seeding took {run['seed_seconds']:.1f} s)", flush=True)
    if len(runs) >= 2:
        small, big = runs[0], runs[-1]
        print(f"time ratio {big['seconds'] / small['seconds']:.1f} (CPU {big['cpu_seconds'] / small['cpu_seconds']:.1f}) for {big['members'] / small['members']:.0f}x the "
              f"members (linear = {big['members'] / small['members']:.0f}); target: 10,000 in under 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
