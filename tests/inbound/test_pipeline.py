"""The pipeline over stored messages: replies become comments, and everything else is refused
with a reason (and, for an authenticated member, one short explanation)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import InboundMessage, Membership, OutboundMessage, utcnow
from mail.processing import process_stored
from mail.store import accept

from .conftest import comments_of, reply


def deliver(raw: bytes, *, to: str, envelope_from: str = "alice@example.org") -> InboundMessage:
    """What the SMTP server does, then what the job does."""
    row = accept(raw, envelope_from=envelope_from, recipients=[to], peer="192.0.2.10", helo="mail.example.org",
                 domain="quorum.test")
    process_stored(row.id)
    db.session.expire_all()
    return db.session.get(InboundMessage, row.id)


def explanations() -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "inbound_refused")))


def test_a_reply_to_a_notification_becomes_a_trimmed_comment_by_its_sender(scene):
    to = scene.reply_address()
    body = "Count me in, I'll bring a spade.\n\nOn Tue, 7 Jan 2025 at 09:00, Bob <bob@example.org> wrote:\n> Shall we meet?\n"
    row = deliver(reply(to=to, body=body), to=to)
    assert (row.status, row.action, row.classification) == ("processed", "comment", "human")
    [_, comment] = comments_of(scene.thread)
    assert comment.body == "Count me in, I'll bring a spade."
    assert (comment.author_id, comment.source, comment.inbound_message_id) == (scene.alice.id, "email", row.id)
    assert comment.parent_id is None


def test_a_reply_to_a_comment_email_is_nested_under_that_comment(scene):
    to = scene.reply_address(kind="comment")
    deliver(reply(to=to, body="Ten is fine.\n"), to=to)
    assert comments_of(scene.thread)[-1].parent_id == scene.comment.id


def test_a_proven_alias_may_reply_for_its_member(scene, dns):
    from app.services import addresses
    from tests.mailauth import dkim_record

    name, value = dkim_record("work.example")
    dns[name] = value
    proof = addresses.request_proof(user_id=scene.alice.id, email="alice@work.example", purpose="alias")
    addresses.prove(proof)
    to = scene.reply_address()
    row = deliver(reply(to=to, sender="Alice <alice@work.example>"), to=to)
    assert row.status == "processed" and comments_of(scene.thread)[-1].author_id == scene.alice.id


def test_a_reply_from_another_address_is_refused_and_its_known_sender_told_why(scene, outbox):
    to = scene.reply_address(user=scene.alice)  # Alice's address, forwarded to Bob who replies
    row = deliver(reply(to=to, sender="Bob <bob@example.org>", body="I am Alice, honest."), to=to)
    assert row.status == "rejected" and "does not match" in row.reason
    assert len(comments_of(scene.thread)) == 1
    [mail] = explanations()
    assert mail.to_address == "bob@example.org" and mail.envelope_from == ""
    sent = outbox.last_to("bob@example.org")
    assert sent.header("Auto-Submitted") == "auto-replied" and "another member" in sent.text
    assert sent.subject == "Re: Garden day" and sent.header("In-Reply-To")


def test_an_unverified_alias_is_not_the_member(scene):
    from app.models import UserAlias

    db.session.add(UserAlias(user_id=scene.alice.id, email="alice@work.example"))
    db.session.commit()
    to = scene.reply_address()
    row = deliver(reply(to=to, sender="alice@work.example"), to=to)
    assert row.status == "rejected" and len(comments_of(scene.thread)) == 1
    assert explanations() == []  # a stranger's address gets no mail from us (no backscatter)


def test_explanations_are_rate_limited_per_address_and_reason(scene):
    to = scene.reply_address(user=scene.alice)
    for n in range(3):
        deliver(reply(to=to, sender="bob@example.org", body=f"try {n}"), to=to)
    assert len(explanations()) == 1


def test_a_reply_to_a_closed_thread_is_refused_with_an_explanation(scene):
    scene.thread.closed_at = utcnow()
    db.session.commit()
    to = scene.reply_address()
    row = deliver(reply(to=to), to=to)
    assert row.status == "rejected" and "closed" in row.reason
    assert [m.to_address for m in explanations()] == ["alice@example.org"]


def test_a_reply_after_leaving_the_group_is_refused(scene):
    db.session.execute(Membership.__table__.delete().where(Membership.user_id == scene.alice.id))
    db.session.commit()
    to = scene.reply_address()
    row = deliver(reply(to=to), to=to)
    assert row.status == "rejected" and "no longer a member" in row.reason
    assert len(comments_of(scene.thread)) == 1 and len(explanations()) == 1


def test_automatic_mail_never_becomes_a_post_and_is_never_answered(scene):
    to = scene.reply_address()
    row = deliver(reply(to=to, Auto_Submitted="auto-replied", subject="Out of office"), to=to)
    assert (row.status, row.classification) == ("rejected", "auto_reply")
    assert len(comments_of(scene.thread)) == 1 and explanations() == []


def test_a_reply_with_only_quoted_text_is_refused_with_an_explanation(scene):
    to = scene.reply_address()
    row = deliver(reply(to=to, body="On Tue, 7 Jan 2025, Bob <bob@example.org> wrote:\n> Shall we meet?\n"), to=to)
    assert row.status == "rejected" and "no reply text" in row.reason
    assert len(explanations()) == 1


def test_unauthenticated_mail_is_held_and_its_member_asked_to_confirm(scene, dns):
    dns[("_dmarc.example.org", "TXT")] = ["v=DMARC1; p=reject"]
    dns[("example.org", "TXT")] = ["v=spf1 ip4:198.51.100.0/24 -all"]
    to = scene.reply_address()
    row = deliver(reply(to=to, signed=False), to=to)  # from 192.0.2.10, not in example.org's SPF, and unsigned
    assert (row.status, row.action) == ("held", "unconfirmed") and "not authenticated" in row.sender_check
    assert len(comments_of(scene.thread)) == 1
    db.session.expire_all()
    [ask] = db.session.scalars(select(OutboundMessage).where(OutboundMessage.kind == "sender_confirmation")).all()
    assert ask.to_address == "alice@example.org"


def test_an_authentication_results_header_claiming_our_id_is_not_believed(scene, dns):
    dns[("_dmarc.example.org", "TXT")] = ["v=DMARC1; p=reject"]
    to = scene.reply_address()
    raw = reply(to=to, signed=False, Authentication_Results="quorum.test; dmarc=pass header.from=example.org")
    assert deliver(raw, to=to).status == "held"


def test_a_trusted_upstream_verdict_is_used_only_for_its_own_id(scene, clean_app):
    clean_app.config["TRUSTED_AUTHSERV_ID"] = "mx.upstream.example"
    try:
        to = scene.reply_address()
        failed = reply(to=to, signed=False,
                       Authentication_Results="mx.upstream.example; dmarc=fail header.from=example.org")
        assert deliver(failed, to=to).status == "held"
        other = reply(to=to, signed=False, Authentication_Results="mx.other.example; dmarc=pass header.from=example.org")
        assert deliver(other, to=to).status == "held"
        passed = reply(to=to, signed=False,
                       Authentication_Results="mx.upstream.example; dmarc=pass header.from=example.org")
        assert deliver(passed, to=to).status == "processed"
    finally:
        clean_app.config["TRUSTED_AUTHSERV_ID"] = None


def test_the_same_message_delivered_twice_is_processed_once(scene):
    to = scene.reply_address()
    raw = reply(to=to)
    first, second = deliver(raw, to=to), deliver(raw, to=to)
    assert first.status == "processed"
    assert (second.status, second.duplicate_of_id) == ("discarded", first.id)
    assert len(comments_of(scene.thread)) == 2


def test_running_the_job_again_changes_nothing(scene):
    to = scene.reply_address()
    row = deliver(reply(to=to), to=to)
    assert process_stored(row.id) == "processed"
    assert len(comments_of(scene.thread)) == 2


def test_a_job_that_died_after_posting_does_not_post_twice(scene):
    to = scene.reply_address()
    row = deliver(reply(to=to), to=to)
    row.status = "received"  # as if the worker died before recording the outcome
    db.session.commit()
    assert process_stored(row.id) == "processed"
    assert len(comments_of(scene.thread)) == 2


def test_mail_to_a_group_address_from_a_member_starts_a_thread(scene):
    to = "garden@quorum.test"
    row = deliver(reply(to=to, subject="Seeds", body="Who has seeds?"), to=to)
    assert (row.status, row.action) == ("processed", "new_thread")  # the rest: tests/email_actions


def test_mail_to_the_postmaster_is_held_for_the_operator(scene):
    row = deliver(reply(to="postmaster@quorum.test", sender="someone@elsewhere.example"), to="postmaster@quorum.test")
    assert row.status == "held" and row.action == "postmaster"


def test_a_hard_bounce_to_a_members_verp_address_suspends_sending(scene):
    from app.email.outbox import bounce_envelope

    verp = bounce_envelope(scene.alice)
    row = deliver(dsn("alice@example.org", "5.1.1"), to=verp, envelope_from="")
    assert (row.classification, row.action) == ("bounce", "bounce_hard")
    db.session.refresh(scene.alice)
    assert scene.alice.email_suspended_at is not None and "bounced" in scene.alice.email_suspended_reason


def test_soft_bounces_suspend_only_when_they_repeat(scene):
    from app.email.outbox import bounce_envelope

    verp = bounce_envelope(scene.alice)
    for n in range(3):
        deliver(dsn("alice@example.org", "4.2.2", n), to=verp, envelope_from="")
        db.session.refresh(scene.alice)
        assert (scene.alice.email_suspended_at is not None) == (n == 2)
    assert scene.alice.bounce_score == 3


def test_a_suspended_member_sees_why_on_every_page(scene, client):
    from tests.helpers import sign_in

    scene.alice.email_suspended_at = utcnow()
    scene.alice.email_suspended_reason = "mail to this address bounced permanently"
    db.session.commit()
    sign_in(client, scene.alice)
    page = client.get("/account")
    assert b"bounced permanently" in page.data


def test_a_spam_complaint_mutes_all_the_members_groups(scene):
    from tests.factories import GroupFactory, MembershipFactory

    from app.email.outbox import bounce_envelope

    MembershipFactory(group=GroupFactory(), user=scene.alice)
    # Feedback loops report to a fixed address; the quoted mail keeps the VERP we sent it with.
    row = deliver(arf("alice@example.org", bounce_envelope(scene.alice)), to="bounces@quorum.test", envelope_from="")
    assert (row.classification, row.action) == ("complaint", "complaint_muted")
    db.session.expire_all()
    volumes = db.session.scalars(select(Membership.volume).where(Membership.user_id == scene.alice.id)).all()
    assert volumes == ["mute", "mute"]


def _mail_state(user):
    db.session.refresh(user)
    volumes = db.session.scalars(select(Membership.volume).where(Membership.user_id == user.id)).all()
    return user.email_suspended_at, user.bounce_score, volumes


def test_a_forged_bounce_naming_a_member_changes_nothing(scene):
    """Anyone can write a DSN naming alice@: only our VERP address says whom a bounce is about."""
    before = _mail_state(scene.alice)
    for n, to in enumerate(("bounces@quorum.test", scene.reply_address(), "bounces+1.0000000000@quorum.test")):
        row = deliver(dsn("alice@example.org", "5.1.1", 100 + n), to=to, envelope_from="")
        assert (row.classification, row.action) == ("bounce", "bounce_unmatched"), to
        assert "not trusted" in row.reason
    assert _mail_state(scene.alice) == before


def test_a_forged_complaint_naming_a_member_mutes_nobody(scene):
    before = _mail_state(scene.alice)
    row = deliver(arf("alice@example.org"), to="bounces@quorum.test", envelope_from="")
    assert (row.classification, row.action) == ("complaint", "complaint_unmatched")
    forged = arf("alice@example.org", "bounces+1.0123456789@quorum.test")  # a token whose MAC is wrong
    row = deliver(forged.replace(b"<arf1@", b"<arf2@"), to="bounces@quorum.test", envelope_from="")
    assert row.action == "complaint_unmatched"
    assert _mail_state(scene.alice) == before


def test_old_messages_are_deleted_after_the_retention_period(scene):
    from app.services.inbound import delete_expired

    to = scene.reply_address()
    old = deliver(reply(to=to), to=to)
    fresh = deliver(reply(to=to, body="new"), to=to)
    old.created_at = utcnow() - timedelta(days=61)
    db.session.commit()
    old_id, fresh_id = old.id, fresh.id
    assert delete_expired() == 1
    db.session.expire_all()
    assert db.session.get(InboundMessage, old_id) is None and db.session.get(InboundMessage, fresh_id) is not None
    assert comments_of(scene.thread)[1].inbound_message_id is None  # the comment stays


def test_the_sweeper_processes_messages_stored_while_redis_was_away(scene, clean_app, tmp_path):
    from app.dispatch import sweep
    from tests.helpers import RedisServer, use_redis

    redis = RedisServer(tmp_path / "redis")  # never started: Redis is away
    old = use_redis(clean_app, redis.url)
    try:
        to = scene.reply_address()
        row = accept(reply(to=to), envelope_from="alice@example.org", recipients=[to], domain="quorum.test")
    finally:
        clean_app.extensions["quorum_redis"] = old
    assert db.session.get(InboundMessage, row.id).status == "received"  # stored, not lost, not yet done
    row.created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert sweep()["inbound_enqueued"] == 1  # RQ runs it inline in tests
    db.session.expire_all()
    assert db.session.get(InboundMessage, row.id).status == "processed"


# --- reports ---------------------------------------------------------------------------------

def dsn(failed: str, status: str, n: int = 0) -> bytes:
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: bounces@quorum.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn{n}.{status}@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {failed}
Action: failed
Status: {status}
Diagnostic-Code: smtp; {status.replace('.', '')[0]}50 mailbox problem

--B--
""".encode()


def arf(complainant: str, return_path: str = "bounces@quorum.test") -> bytes:
    return f"""From: abuse@isp.example
To: bounces@quorum.test
Subject: Complaint
Message-ID: <arf1@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="B"

--B
Content-Type: text/plain

This is an abuse report.

--B
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ISP-FBL/1.0
Version: 1
Original-Rcpt-To: {complainant}

--B
Content-Type: text/rfc822-headers

Return-Path: <{return_path}>
From: notifications@quorum.test
To: {complainant}
Subject: Garden day

--B--
""".encode()
