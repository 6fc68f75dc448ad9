"""Open and closed decisions of several types for the demo organisation."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from ...extensions import db
from ...models import Discussion, Poll, utcnow
from ...polls.base import ordered_options
from .closing import close_poll
from .creation import create_poll
from .outcomes import set_outcome
from .results import results_for
from .voting import cast_vote


def seed_demo_polls(made: dict, members_of: dict, rng: random.Random) -> None:
    """Open and closed decisions of several types in the demo groups."""
    if db.session.scalar(select(func.count(Poll.id))):
        return
    now = utcnow()
    riverside, garden, foodshare = made["riverside"], made["garden"], made["foodshare"]
    roof = db.session.scalar(select(Discussion).where(Discussion.title == "Roof repairs on block B"))
    quiet = db.session.scalar(select(Discussion).where(Discussion.title == "Quiet hours after 10pm?"))
    people = members_of["riverside"]
    admin = people[0]

    def vote_all(poll, voters, pick, reasons=()):
        for person in voters:
            try:
                cast_vote(actor_id=person.id, poll_id=poll.id, choices=pick(poll),
                          reason=rng.choice(reasons) if reasons and rng.random() < 0.5 else None)
            except Exception:  # a demo vote that does not fit is simply skipped
                db.session.rollback()

    opts = lambda p: [o.id for o in ordered_options(p)]  # noqa: E731
    proposal = create_poll(
        actor_id=admin.id, discussion_id=roof.id if roof else None, group_id=riverside.id, poll_type="proposal",
        title="Accept the second roofing quote (£38,400)",
        details="Ten-year guarantee, scaffolding included. Work starts in September.",
        closing_at=now + timedelta(days=3))
    vote_all(proposal, people[1:12], lambda p: {rng.choices(opts(p), [8, 2, 1, 0.2])[0]: 1},
             ["The guarantee is worth it.", "Pricey, but the first quote was vague.", "Let's get it done before winter."])
    check = create_poll(
        actor_id=people[1].id, discussion_id=quiet.id if quiet else None, group_id=riverside.id, poll_type="check",
        title="Try quiet hours (10pm–7am) for three months?", closing_at=now + timedelta(hours=20),
        anonymous=True)
    vote_all(check, people[2:9], lambda p: {rng.choice(opts(p)): 1})
    meeting = create_poll(
        actor_id=admin.id, group_id=riverside.id, poll_type="meeting", title="General meeting in spring",
        closing_at=now + timedelta(days=2), time_zone="Europe/London", duration_minutes=90,
        slots=[(now + timedelta(days=14 + d)).replace(hour=18, minute=30, second=0, microsecond=0) for d in (0, 2, 5)])
    vote_all(meeting, people[:10], lambda p: {o: rng.choice([0, 1, 2, 2]) for o in opts(p)})
    close_poll(actor_id=admin.id, poll_id=meeting.id)
    best = results_for(admin, db.session.get(Poll, meeting.id)).results.best_option_id
    set_outcome(actor_id=admin.id, poll_id=meeting.id, option_id=best,
                statement="We meet in the common room; agenda to follow.")
    garden_people = members_of["garden"]
    dots = create_poll(
        actor_id=garden_people[1].id, group_id=garden.id, poll_type="dot_vote", title="What should bed 4 grow?",
        options=["Strawberries", "Pumpkins", "Sunflowers", "Salad leaves"], dots_per_person=5,
        closing_at=now + timedelta(days=5))

    def spread(p):
        left, out = 5, {}
        for o in rng.sample(opts(p), k=len(opts(p))):
            n = rng.randint(0, left)
            out[o], left = n, left - n
        out[opts(p)[0]] = out.get(opts(p)[0], 0) + left
        return out

    vote_all(dots, garden_people[:9], spread)
    ranked = create_poll(
        actor_id=garden_people[0].id, group_id=garden.id, poll_type="ranked_choice", title="Name for the compost bays",
        options=["Rot Stars", "The Heap", "Worm Hotel", "Compostela"], closing_at=now + timedelta(days=1))
    vote_all(ranked, garden_people[:10], lambda p: {o: len(opts(p)) - i for i, o in enumerate(rng.sample(opts(p), 3))})
    close_poll(actor_id=garden_people[0].id, poll_id=ranked.id)
    food = members_of["foodshare"]
    count = create_poll(
        actor_id=food[1].id, group_id=foodshare.id, poll_type="count", title="Who can help at the Christmas market stall?",
        target=6, closing_at=now + timedelta(days=6))
    vote_all(count, food[1:8], lambda p: {rng.choices(opts(p), [3, 1])[0]: 1})
    question = create_poll(
        actor_id=food[0].id, group_id=foodshare.id, poll_type="question", title="Which shop should we ask next?",
        closing_at=now + timedelta(days=4))
    for person, answer in zip(food[1:4], ["The greengrocer on Station Road", "Mill Lane deli", "The Co-op, they said maybe"]):
        cast_vote(actor_id=person.id, poll_id=question.id, reason=answer)
    score = create_poll(
        actor_id=food[0].id, group_id=foodshare.id, poll_type="score", title="Rate the collection routes",
        options=["North loop", "River path", "High street"], min_score=0, max_score=5,
        closing_at=now + timedelta(days=4), hide_results="until_closed")
    vote_all(score, food[:6], lambda p: {o: rng.randint(0, 5) for o in opts(p)})
    poll = create_poll(
        actor_id=food[1].id, group_id=foodshare.id, poll_type="poll", title="Which days can you volunteer?",
        options=["Thursday", "Friday", "Saturday"], min_choices=1, max_choices=3,
        closing_at=now + timedelta(days=4), hide_results="until_vote")
    vote_all(poll, food[2:8], lambda p: {o: 1 for o in rng.sample(opts(p), rng.randint(1, 3))})
