"""Redis is stopped for 30 s (and comes back empty, as a restart without persistence does) while a
member posts in the browser, another replies by mail and a digest falls due. Pages still answer
and say what waits, mail is still accepted (250) and stored, and after Redis returns every
notification, digest and reply happens exactly once."""
from __future__ import annotations

import time
from datetime import timedelta
from urllib.request import urlopen
from urllib.error import HTTPError

from playwright.sync_api import expect
from sqlalchemy import func, select, update

from app.email.addresses import reply_address
from app.extensions import db
from app.models import Comment, InboundMessage, Membership, User, utcnow
from app.services import events
from tests.factories import CommentFactory, DiscussionFactory, GroupFactory, member
from tests.inbound.conftest import reply

from .harness import wait_until

OUTAGE_SECONDS = 30
READERS = 6
DIGESTERS = 4


def _seed():
    group = GroupFactory(handle="garden", name="Garden")
    alice = member(group, email="alice@example.org", name="Alice")
    bob = member(group, email="bob@example.org", name="Bob")
    readers = {member(group, email=f"reader{n}@example.org").email for n in range(READERS)}
    digesters = [member(group, email=f"digest{n}@example.org") for n in range(DIGESTERS)]
    thread = DiscussionFactory(group=group, author=bob, title="Garden day")
    earlier = utcnow() - timedelta(minutes=10)  # yesterday's news, settled: the digest's content
    comment = CommentFactory(discussion=thread, author=bob, body="Shall we meet at ten?")
    news = events.record("comment_posted", actor_id=bob.id, group_id=group.id, discussion_id=thread.id,
                         comment_id=comment.id)
    news.created_at, news.fanned_out_at = earlier, earlier
    db.session.commit()
    return {
        "thread_id": thread.id,
        "bob_reply_to": reply_address(bob, "discussion", thread.id),
        "readers": readers,
        "digesters": {d.email for d in digesters},
        "alice": alice.email,
    }


def _status(url: str) -> int:
    try:
        with urlopen(url, timeout=10) as response:
            return response.status
    except HTTPError as error:
        return error.code


def test_redis_away_for_30_seconds_delays_side_effects_and_loses_none(fault_stack, browser):
    stack = fault_stack(RATELIMIT_ENABLED=1, SWEEP_INTERVAL_SECONDS=1, DIGEST_CHECK_SECONDS=2, MAIL_RETRY_SECONDS=1)
    with stack.in_app():
        scene = _seed()
    stack.start("web", "smtp", "worker", "scheduler")
    # The same member, in a browser with JavaScript on and in one with it off.
    pages = {js: stack.browser_page(browser, scene["alice"], js=js) for js in (True, False)}
    time.sleep(1)  # everything is quiet before the outage
    before = len(stack.relay.deliveries())

    stack.redis.stop()
    down_at = time.monotonic()
    try:
        with stack.in_app():  # the digest hour of four members comes while Redis is away
            ids = select(User.id).where(User.email.in_(scene["digesters"])).scalar_subquery()
            db.session.execute(update(User).where(User.id.in_(ids)).values(digest_frequency="daily", digest_hour=0))
            db.session.execute(update(Membership).where(Membership.user_id.in_(ids)).values(volume="digest"))
            db.session.commit()
        # A member posts in the browser: the page answers, shows the comment, and says its mail waits.
        for js, page in pages.items():
            text = f"Posted while the queue was away ({'with' if js else 'without'} JavaScript)."
            page.goto(f"/d/{scene['thread_id']}")
            page.get_by_label("Your comment").fill(text)
            page.get_by_role("button", name="Post comment").click()
            expect(page.get_by_text(text).first).to_be_visible()
            expect(page.get_by_text("will go out as soon as our job queue is back").first).to_be_visible()
        page = pages[False]
        for path in ("/", "/g/garden", f"/d/{scene['thread_id']}", "/notifications", "/login"):
            response = page.goto(path)
            assert response.status < 500, f"{path} answered {response.status} with Redis away"
        health = _status(f"{stack.base_url}/healthz")
        assert health == 503

        # Another replies by mail: accepted and stored, not yet posted.
        raw = reply(to=scene["bob_reply_to"], sender="Bob <bob@example.org>", body="Replied while the queue was away.\n")
        code, text = stack.send_mail(raw, "bob@example.org", scene["bob_reply_to"])
        assert code == 250, text
        with stack.in_app():
            assert db.session.scalar(select(func.count(InboundMessage.id))) == 1

        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_at)))
        assert len(stack.relay.deliveries()) == before, "nothing can have been sent with the queue away"
    finally:
        stack.redis.start()  # back, and empty: every job queued before the outage is gone too

    def delivered(address: str, text: str) -> int:
        return sum(1 for d in stack.relay.deliveries() if d.recipient == address and text in d.subject)

    readers = scene["readers"]
    wait_until(lambda: all(delivered(r, "Garden day") >= 3 for r in readers), timeout=60,
               message="each reader's mail about the three new comments")
    wait_until(lambda: all(delivered(d, "digest") >= 1 for d in scene["digesters"]), timeout=60,
               message="each digest")
    with stack.in_app():
        wait_until(lambda: db.session.scalar(select(func.count(Comment.id)).where(
            Comment.body.contains("Replied while the queue was away"))) == 1, timeout=30, message="the mailed reply")
    time.sleep(3)  # a duplicate would come right behind
    for address in readers:
        assert delivered(address, "Garden day") == 3, f"{address} got {delivered(address, 'Garden day')} copies"
    for address in scene["digesters"]:
        assert delivered(address, "digest") == 1
    with stack.in_app():
        assert db.session.scalar(select(func.count(Comment.id)).where(
            Comment.body.contains("queue was away"))) == 3
        statuses = set(db.session.scalars(select(InboundMessage.status)))
        assert statuses == {"processed"}, statuses
    assert _status(f"{stack.base_url}/healthz") == 200
    for page in pages.values():
        page.context.close()
