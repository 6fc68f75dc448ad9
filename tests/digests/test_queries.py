"""Building digests costs a fixed number of queries per batch, however many members it holds."""
from __future__ import annotations

from datetime import timedelta

from app.models import utcnow
from app.services import digests, polls
from tests.factories import GroupFactory, MembershipFactory, UserFactory


def busy_groups(n_members: int):
    """Two groups with threads, comments, an open and a closed poll; members in both."""
    groups = [GroupFactory(), GroupFactory()]
    author = UserFactory()
    for group in groups:
        MembershipFactory(group=group, user=author, role="admin")
    members = [UserFactory(digest_frequency="daily", digest_hour=0) for _ in range(n_members)]
    for user in members:
        for group in groups:
            MembershipFactory(group=group, user=user, volume="digest")
    from app.services.discussions import post_comment, start_thread

    for group in groups:
        thread = start_thread(actor_id=author.id, group_id=group.id, title="News", body="Hello")
        post_comment(actor_id=author.id, discussion_id=thread.id, body="More news")
        polls.create_poll(actor_id=author.id, group_id=group.id, poll_type="proposal", title="Open one",
                          closing_at=utcnow() + timedelta(hours=10))
        closed = polls.create_poll(actor_id=author.id, group_id=group.id, poll_type="poll", title="Closed one",
                                   options=["Red", "Blue"], closing_at=utcnow() + timedelta(days=2))
        polls.cast_vote(actor_id=members[0].id, poll_id=closed.id, choices={closed.options[0].id: 1})
        polls.close_poll(actor_id=author.id, poll_id=closed.id)
    return members


def statements_for(count_queries, n_members: int) -> tuple[list[str], int]:
    members = busy_groups(n_members)
    later = utcnow() + timedelta(minutes=5)
    due = digests.find_due(later)
    assert len(due) == n_members
    with count_queries() as counter:
        result = digests.deliver_batch([d.user_id for d in due], [d.period_key for d in due], now=later)
    assert result["sent"] == n_members
    return counter.statements, len(members)


def is_message_write(statement: str) -> bool:
    """The email module's own work per message: queue_message looks up the dedupe key and inserts
    the row (the commit hook hands the ids it noted to the send jobs without reading them again)."""
    s = " ".join(statement.split()).lower()
    return s.startswith("insert into outbound_messages") or s.startswith("select outbound_messages.id")


def test_queries_per_batch_do_not_grow_with_members(count_queries, clean_app):
    clean_app.config["RQ_ASYNC"] = True  # send jobs wait in Redis: count the batch job alone
    try:
        _check(count_queries)
    finally:
        clean_app.config["RQ_ASYNC"] = False


def _check(count_queries):
    from tests.conftest import _truncate_all
    from app.extensions import db

    small, _ = statements_for(count_queries, 10)
    db.session.remove()  # end this session's transaction, or PostgreSQL's TRUNCATE waits for it
    _truncate_all(db)
    large, _ = statements_for(count_queries, 100)
    reads_small = [s for s in small if not is_message_write(s)]
    reads_large = [s for s in large if not is_message_write(s)]
    assert len(reads_small) == len(reads_large) <= 20
    # Queuing is one row per message sent (the email module's dedupe check and insert).
    assert len(large) - len(reads_large) == 2 * 100
