"""A realistic dataset, bulk-inserted with SQLAlchemy Core into the schema the real migrations build.

Going through the services would take minutes for 20,000 comments; Core inserts take seconds.
The rows look like what the services write (a Version per thread and comment, an Event per
action, read states for participants, denormalised counts), so pages and digests see real shapes.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

WORDS = (
    "roof garden budget meeting proposal repair tools rota compost paint boiler insurance quote "
    "volunteers saturday deadline minutes agenda treasurer newsletter bins bikes shed keys lease "
    "neighbours survey windows heating solar party kids library kitchen hall rent fund vote"
).split()
SENTENCES = (
    "I agree with most of this, but we should check the numbers first.",
    "Could someone who was at the last meeting summarise what we decided?",
    "Thanks for pulling this together, it is much clearer now.",
    "I can help on Saturday morning if that works for everyone.",
    "Let's not rush this; a proposal next week would give people time to read.",
    "The quote from the second supplier includes **scaffolding and disposal**.",
    "+1 from me. See the notes at https://example.org/notes for the details.",
    "I'm not sure about the timing: half of us are away in August.",
    "We tried something similar two years ago and it worked well for a while.",
    "Here is a list:\n\n- first the survey\n- then the quotes\n- then a vote",
)


@dataclass
class Sizes:
    members: int = 1000
    groups: int = 20
    threads: int = 500
    comments: int = 20000
    polls: int = 50

    @classmethod
    def quick(cls) -> "Sizes":
        return cls(members=60, groups=4, threads=30, comments=600, polls=5)


@dataclass
class Seeded:
    """What the benchmarks need to find again: ids of the special threads and who may sign in."""

    sizes: Sizes
    main_group_handle: str = ""
    main_group_id: int = 0
    thread_10: int = 0
    thread_50: int = 0
    thread_200: int = 0
    thread_post: int = 0
    poll_in_thread_50: int = 0
    # Members of the main group to sign in as, in order.
    member_ids: list[int] = field(default_factory=list)
    # Threads of the main group that inbound replies go to.
    reply_thread_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    rows: dict = field(default_factory=dict)


def _body(rng: random.Random) -> str:
    parts = rng.sample(SENTENCES, rng.randint(1, 3))
    if rng.random() < 0.3:
        parts.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 25))).capitalize() + ".")
    return "\n\n".join(parts)


def seed(engine, sizes: Sizes, *, seed_value: int = 1) -> Seeded:
    """Fill an empty, migrated database. Ids are assigned here, so sequences are reset after."""
    import time

    from app.models import (Comment, Discussion, Event, Group, Membership, Poll, PollOption, Participation,
                            ReadState, Stance, StanceChoice, User, Version)

    started = time.perf_counter()
    rng = random.Random(seed_value)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    out = Seeded(sizes=sizes)
    rows: dict[str, list[dict]] = {}

    # People. Everyone has a daily digest, so the digest bench has real work for each.
    users = [dict(id=i, email=f"member{i}@bench.example", name=f"Member {i}", time_zone="UTC",
                  email_verified_at=now - timedelta(days=60), created_at=now - timedelta(days=60),
                  mail_token_generation=0, digest_frequency="daily", digest_hour=7,
                  is_site_admin=(i == 1), bounce_score=0)
             for i in range(1, sizes.members + 1)]
    rows["users"] = users

    # Groups of about 3 × members / groups people: each member has a home group and two more.
    # Members 1..50 (the ones the web bench signs in as) are all in the first group.
    groups = [dict(id=g, name=f"Working group {g}" if g > 1 else "Whole organisation", handle=f"bench{g}",
                   description="A group seeded by make bench.", privacy="closed" if g % 3 else "open",
                   created_by_id=1, created_at=now - timedelta(days=59))
              for g in range(1, sizes.groups + 1)]
    rows["groups"] = groups
    out.main_group_handle, out.main_group_id = "bench1", 1
    member_sets: dict[int, set[int]] = {g: {1} for g in range(1, sizes.groups + 1)}
    for u in range(1, sizes.members + 1):
        member_sets[1 + (u - 1) % sizes.groups].add(u)
        for g in rng.sample(range(1, sizes.groups + 1), min(2, sizes.groups)):
            member_sets[g].add(u)
    member_sets[1].update(range(1, min(50, sizes.members) + 1))
    members_of = {g: sorted(people) for g, people in member_sets.items()}
    volumes = ["all"] * 8 + ["digest"] * 8 + ["mentions"] * 3 + ["mute"]
    memberships = []
    for g, people in members_of.items():
        for u in people:
            memberships.append(dict(group_id=g, user_id=u, role="admin" if u == 1 else "member",
                                    volume=rng.choice(volumes), created_at=now - timedelta(days=58)))
    for i, m in enumerate(memberships, 1):
        m["id"] = i
    rows["memberships"] = memberships

    # Threads, with the special ones first, all in the main group.
    special = {"thread_10": 10, "thread_50": 50, "thread_200": 200, "thread_post": 5}
    n_threads = max(sizes.threads, len(special) + 1)
    remaining = max(sizes.comments - sum(special.values()), 0)
    ordinary = n_threads - len(special)
    counts = [0] * ordinary
    for _ in range(remaining):  # a skewed spread: some busy threads, many quiet ones
        counts[min(int(rng.paretovariate(1.2)) - 1, ordinary - 1) if rng.random() < 0.3 else rng.randrange(ordinary)] += 1
    threads, comments, versions, events, reads = [], [], [], [], {}
    comment_id = 0
    plan = [(name, 1, n) for name, n in special.items()] + [
        (None, 1 + (t % sizes.groups) if sizes.groups > 1 else 1, counts[t]) for t in range(ordinary)]
    for tid, (name, g, n_comments) in enumerate(plan, 1):
        if name:
            setattr(out, name, tid)
        people = members_of[g]
        author = rng.choice(people)
        # Each thread's life ends within the last three days; about a sixth of comments fall in the last day.
        end = now - timedelta(minutes=rng.randint(5, 3 * 24 * 60))
        start = end - timedelta(days=rng.uniform(1, 25))
        step = (end - start) / max(n_comments, 1)
        title = f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} and the {rng.choice(WORDS)} ({tid})"
        body = _body(rng)
        threads.append(dict(id=tid, group_id=g, author_id=author, title=title, body=body, created_at=start,
                            last_activity_at=end, comments_count=n_comments, source="web"))
        versions.append(dict(item_type="discussion", item_id=tid, number=1, author_id=author, title=title,
                             body=body, created_at=start))
        events.append(dict(kind="discussion_started", group_id=g, discussion_id=tid, actor_id=author,
                           data={"mentions": []}, created_at=start, fanned_out_at=start))
        reads[(author, tid)] = dict(user_id=author, discussion_id=tid, last_read_at=start, read_comments_count=0,
                                    participating=True)
        top_level: list[int] = []
        for k in range(n_comments):
            comment_id += 1
            who = rng.choice(people)
            at = start + step * (k + 1)
            parent = rng.choice(top_level) if top_level and rng.random() < 0.25 else None
            if parent is None:
                top_level.append(comment_id)
            text = _body(rng)
            comments.append(dict(id=comment_id, discussion_id=tid, author_id=who, parent_id=parent, body=text,
                                 created_at=at, source="email" if rng.random() < 0.3 else "web"))
            versions.append(dict(item_type="comment", item_id=comment_id, number=1, author_id=who, body=text,
                                 created_at=at))
            events.append(dict(kind="comment_posted", group_id=g, discussion_id=tid, comment_id=comment_id,
                               actor_id=who, data={"mentions": [], "parent_author_id": None}, created_at=at,
                               fanned_out_at=at))
            reads[(who, tid)] = dict(user_id=who, discussion_id=tid, last_read_at=at, read_comments_count=k + 1,
                                     participating=True)
        if g == 1:
            out.reply_thread_ids.append(tid)
    rows["discussions"], rows["comments"], rows["versions"] = threads, comments, versions

    # Polls: one open proposal in the 50-comment thread, the rest spread, half of them closed.
    polls, options, stances, choices, participations = [], [], [], [], []
    option_id = stance_id = 0
    for pid in range(1, max(sizes.polls, 1) + 1):
        if pid == 1:
            tid, g = out.thread_50, 1
        else:
            t = rng.choice(threads)
            tid, g = t["id"], t["group_id"]
        created = now - timedelta(days=rng.uniform(0.2, 10))
        closed = pid % 2 == 0
        polls.append(dict(id=pid, group_id=g, discussion_id=tid, author_id=rng.choice(members_of[g]),
                          poll_type="proposal", title=f"Shall we go ahead with the {rng.choice(WORDS)}? ({pid})",
                          details=_body(rng), created_at=created,
                          closing_at=created + timedelta(days=3) if closed else now + timedelta(days=5),
                          closed_at=created + timedelta(days=3) if closed else None,
                          anonymous=False, hide_results="off", voter_scope="group", reason_mode="optional",
                          reason_max_length=2000, allow_none_of_the_above=False, time_zone="UTC"))
        opts = []
        for prio, name in enumerate(("Agree", "Abstain", "Disagree", "Block")):
            option_id += 1
            opts.append(option_id)
            options.append(dict(id=option_id, poll_id=pid, name=name, priority=prio))
        for voter in rng.sample(members_of[g], min(len(members_of[g]), rng.randint(3, 20))):
            stance_id += 1
            stances.append(dict(id=stance_id, poll_id=pid, participant_id=voter, latest=True, created_at=created,
                                source="web", reason=rng.choice(SENTENCES) if rng.random() < 0.5 else None))
            choices.append(dict(stance_id=stance_id, poll_option_id=rng.choice(opts[:3]), score=1))
            participations.append(dict(poll_id=pid, user_id=voter))
        events.append(dict(kind="poll_created", group_id=g, discussion_id=tid, poll_id=pid, actor_id=1,
                           data={}, created_at=created, fanned_out_at=created))
    out.poll_in_thread_50 = 1
    rows["polls"], rows["poll_options"], rows["stances"] = polls, options, stances
    rows["stance_choices"], rows["participations"] = choices, participations
    for i, e in enumerate(events, 1):
        e["id"] = i
    rows["events"] = events
    rows["read_states"] = list(reads.values())
    out.member_ids = members_of[1][: min(50, len(members_of[1]))]

    tables = {"users": User, "groups": Group, "memberships": Membership, "discussions": Discussion,
              "comments": Comment, "versions": Version, "read_states": ReadState,
              "polls": Poll, "poll_options": PollOption, "stances": Stance, "stance_choices": StanceChoice,
              "participations": Participation, "events": Event}
    with engine.begin() as conn:
        for name, model in tables.items():
            data = rows[name]
            keys = set().union(*data) if data else set()
            for row in data:  # executemany needs the same keys in every row; the gaps are nullable
                for key in keys - row.keys():
                    row[key] = None
            for i in range(0, len(data), 5000):
                conn.execute(model.__table__.insert(), data[i:i + 5000])
        if conn.dialect.name == "postgresql":
            from sqlalchemy import text

            for name in tables:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"))
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    out.rows = {name: len(rows[name]) for name in tables}
    out.seconds = time.perf_counter() - started
    return out
