"""Sending through a real SMTP relay (aiosmtpd on 127.0.0.1): retries, give-up, exactly once."""
from __future__ import annotations

import mailparser
import pytest
from sqlalchemy import select

from app import jobs
from app.email.outbox import MAX_ATTEMPTS
from app.extensions import db
from app.models import OutboundMessage
from app.services import discussions
from tests.factories import GroupFactory, member


@pytest.fixture
def relay_url(clean_app, relay_port, monkeypatch):
    url = f"smtp://127.0.0.1:{relay_port}?starttls=off"
    monkeypatch.setitem(clean_app.config, "SMTP_URL", url)
    return url


def _comment_for_three_members():
    group = GroupFactory(handle="garden", name="Garden Club")
    ann = member(group, role="admin", name="Ann Lee")
    for name in ("bob", "cara", "dan"):
        member(group, email=f"{name}@example.org")
    thread = discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="Bins?")
    return thread


def _rows():
    return db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)).all()


def test_the_relay_receives_each_message_with_our_envelope(relay_url, start_relay):
    relay = start_relay()
    _comment_for_three_members()
    assert sorted(e.rcpt_tos[0] for e in relay.envelopes) == ["bob@example.org", "cara@example.org", "dan@example.org"]
    for envelope in relay.envelopes:
        assert envelope.mail_from.startswith("bounces+")
        parsed = mailparser.parse_from_bytes(envelope.original_content)
        assert parsed.subject == "[garden] Compost" and parsed.text_plain and parsed.text_html
    assert {r.status for r in _rows()} == {"sent"} and all(r.raw is None for r in _rows())


def test_a_relay_that_is_down_then_up_gets_every_message_exactly_once(relay_url, start_relay):
    _comment_for_three_members()  # the relay is down: every send fails and waits to retry
    rows = _rows()
    assert [r.status for r in rows] == ["retrying"] * 3 and all("unreachable" in r.last_error for r in rows)

    relay = start_relay()
    for row in rows:  # what RQ's scheduled retry does
        assert jobs.send_message(row.id) == "sent"
    for row in rows:  # a duplicate retry (or the sweeper) finds nothing left to send
        assert jobs.send_message(row.id) == "sent"
    assert sorted(e.rcpt_tos[0] for e in relay.envelopes) == ["bob@example.org", "cara@example.org", "dan@example.org"]
    db.session.expire_all()
    assert [r.attempts for r in _rows()] == [2, 2, 2]


def test_a_4xx_answer_is_retried_and_delivered_once(relay_url, start_relay):
    relay = start_relay()
    relay.refuse_next = 1  # "451 try again later" to the first attempt
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    member(group, email="bob@example.org")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="")
    row = _rows()[0]
    assert row.status == "retrying" and row.last_error.startswith("451") and relay.envelopes == []
    assert jobs.send_message(row.id) == "sent"
    assert len(relay.envelopes) == 1


def test_retries_are_bounded_then_recorded_as_failed(relay_url, start_relay):
    from app.email.transport import TemporaryFailure

    relay = start_relay()
    relay.refuse_next = 100
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    member(group, email="bob@example.org")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="")
    row_id = _rows()[0].id
    for _ in range(MAX_ATTEMPTS - 2):
        with pytest.raises(TemporaryFailure):
            jobs.send_message(row_id)  # RQ would schedule the next attempt with backoff
    assert jobs.send_message(row_id) == "failed"
    db.session.expire_all()
    row = db.session.get(OutboundMessage, row_id)
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS and row.last_error.startswith("451")
    assert relay.envelopes == []
    relay.refuse_next = 0
    assert jobs.send_message(row_id) == "failed"  # given up means given up: nothing sent later
    assert relay.envelopes == []


def test_the_relay_login_from_smtp_url_is_used(clean_app, relay_port, start_relay, monkeypatch):
    from aiosmtpd.smtp import AuthResult

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"quorum" and auth_data.password == b"s3cret")

    relay = start_relay(auth_required=True, auth_require_tls=False, authenticator=authenticator)
    monkeypatch.setitem(clean_app.config, "SMTP_URL",
                        f"smtp://quorum:s3cret@127.0.0.1:{relay_port}?starttls=off&insecure_auth=1")
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    member(group, email="bob@example.org")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="")
    assert seen == [(b"quorum", b"s3cret")] and len(relay.envelopes) == 1


def test_no_login_goes_out_in_clear_unless_smtp_url_says_so(clean_app, relay_port, start_relay, monkeypatch):
    """Review finding 16: a relay that offers no STARTTLS never sees the password."""
    from aiosmtpd.smtp import AuthResult

    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append(auth_data.password)
        return AuthResult(success=True)

    relay = start_relay(auth_required=True, auth_require_tls=False, authenticator=authenticator)
    for url in (f"smtp://quorum:s3cret@127.0.0.1:{relay_port}", f"smtp://quorum:s3cret@127.0.0.1:{relay_port}?starttls=off"):
        monkeypatch.setitem(clean_app.config, "SMTP_URL", url)
        group = GroupFactory()
        ann = member(group, role="admin")
        member(group)
        discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="")
    assert seen == [] and relay.envelopes == []
    assert _rows() and all(row.sent_at is None for row in _rows()), "kept, to send once the setting is fixed"


def test_send_jobs_are_enqueued_with_bounded_exponential_backoff(clean_app, monkeypatch):
    from app.email.outbox import retry_delays
    from app.models import Event
    from app.queue import queue
    from app.services.fanout import fan_out

    monkeypatch.setitem(clean_app.config, "RQ_ASYNC", True)  # jobs wait in Redis, as with a worker
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    member(group, email="bob@example.org")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="")
    fan_out(db.session.scalars(select(Event).where(Event.kind == "discussion_started")).one().id)
    row = _rows()[0]
    send_jobs = [j for j in queue().get_jobs() if j.func_name.endswith("send_message")]
    assert [j.args for j in send_jobs] == [(row.id,)]
    assert send_jobs[0].retries_left == MAX_ATTEMPTS - 1
    assert send_jobs[0].retry_intervals == retry_delays()
    assert retry_delays()[1] == 2 * retry_delays()[0] and len(retry_delays()) == MAX_ATTEMPTS - 1



def test_one_connection_carries_every_message_of_a_fan_out(relay_url, start_relay):
    from app.email.transport import POOL

    relay = start_relay()
    before = POOL.opened
    _comment_for_three_members()
    assert len(relay.envelopes) == 3
    assert len(set(relay.peers)) == 1 and POOL.opened - before == 1


def test_a_refused_message_leaves_the_connection_usable_for_the_next(relay_url, start_relay):
    relay = start_relay()
    relay.refuse_next = 1  # 451 to the first DATA: that copy waits to retry, the others go out after it
    _comment_for_three_members()
    assert sorted(r.status for r in _rows()) == ["retrying", "sent", "sent"]
    assert len(relay.envelopes) == 2 and len(set(relay.peers)) == 1


def test_a_kept_connection_the_relay_dropped_is_replaced_and_the_message_goes_once(relay_url, start_relay):
    from app.email.transport import POOL

    first = start_relay()
    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    member(group, email="bob@example.org")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="")
    assert len(first.envelopes) == 1
    opened = POOL.opened

    start_relay.stop_all()  # the relay restarts: the connection this process kept is now dead
    second = start_relay()
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Paths", body="")
    assert [(r.status, r.attempts) for r in _rows()] == [("sent", 1), ("sent", 1)]
    assert len(second.envelopes) == 1 and POOL.opened == opened + 1


def test_a_fan_out_queues_one_batch_job_for_its_copies(clean_app, monkeypatch):
    from app.models import Event
    from app.queue import queue
    from app.services.fanout import fan_out

    monkeypatch.setitem(clean_app.config, "RQ_ASYNC", True)  # jobs wait in Redis, as with a worker
    _comment_for_three_members()
    fan_out(db.session.scalars(select(Event).where(Event.kind == "discussion_started")).one().id)
    jobs_ = [j for j in queue().get_jobs() if "send_message" in j.func_name]
    assert [j.func_name.rsplit(".", 1)[-1] for j in jobs_] == ["send_messages"]
    assert sorted(jobs_[0].args[0]) == [r.id for r in _rows()]


def test_a_copy_refused_for_now_inside_a_batch_gets_its_own_retry_with_the_backoff(relay_url, start_relay):
    from rq.registry import ScheduledJobRegistry

    from app.email.outbox import retry_delays
    from app.queue import queue

    relay = start_relay()
    relay.refuse_next = 1
    _comment_for_three_members()  # one batch job, run inline: the first copy is refused with 451
    refused = [r for r in _rows() if r.status == "retrying"]
    assert len(refused) == 1 and len(relay.envelopes) == 2
    registry = ScheduledJobRegistry(queue=queue())
    scheduled = [queue().fetch_job(job_id) for job_id in registry.get_job_ids()]
    assert [(j.func_name.rsplit(".", 1)[-1], j.args) for j in scheduled] == [("send_message", (refused[0].id,))]
    assert scheduled[0].retries_left == MAX_ATTEMPTS - 2 and scheduled[0].retry_intervals == retry_delays()[1:]
    assert jobs.send_message(refused[0].id) == "sent" and len(relay.envelopes) == 3
