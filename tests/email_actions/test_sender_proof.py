"""Sender proof, attacked through SMTP, the pipeline and the web: a forged From posts, votes and
starts nothing; the real member is asked at their own address and only their confirmation acts,
once; legitimate mail acts at once; no admin action attaches an address to a member's account.

DNS is real: a DNS server on loopback (tests/mailauth.py) publishes example.org's SPF
(`ip4:127.0.0.1 -all`), DKIM keys the tests made, and DMARC records per test. Forgeries are sent
unsigned from 127.0.0.66, which no SPF record allows.
"""
from __future__ import annotations

import json
import re
import smtplib

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Comment, Discussion, InboundMessage, OutboundMessage, Poll, SenderConfirmation, Stance, TrustedSender, User, UserAlias,
)
from tests.factories import GroupFactory, member
from tests.helpers import post, sign_in
from tests.mailauth import ALLOWED_SOURCE, FORGING_SOURCE, dkim_record, sign

from .conftest import message


@pytest.fixture
def deliver(smtp_server):
    """deliver(raw, to=…, envelope_from=…, source=…) → the stored message after its job ran."""

    def send(raw: bytes, *, to: str, envelope_from: str, source: str = ALLOWED_SOURCE) -> InboundMessage:
        with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=10, source_address=(source, 0)) as client:
            assert client.sendmail(envelope_from, [to], raw) == {}
        db.session.expire_all()
        return db.session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc())).first()

    return send


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def confirmation_link(outbox, to: str) -> str:
    mail = outbox.last_to(to)
    assert is_ask(mail)
    [link] = [url for url in mail.links() if "/confirm/" in url]
    return link.removeprefix("http://localhost")


def is_ask(mail) -> bool:
    """A "Did you send this?" mail (its subject asks, and names the unproven message's)."""
    return "please confirm that you sent it" in mail.text and mail.subject.startswith("Did you send this? ")


def confirmation_address(outbox, to: str) -> str:
    return outbox.last_to(to).header("Reply-To").strip("<>")


# --- forged From ----------------------------------------------------------------------------

@pytest.mark.parametrize("dmarc", [None, "v=DMARC1; p=none", "v=DMARC1; p=reject"])
def test_a_forged_proposal_to_a_secret_group_starts_nothing_until_the_member_confirms(
        garden, deliver, outbox, dns, client, dmarc):
    secret = GroupFactory(handle="board", name="Board", privacy="secret")
    from tests.factories import MembershipFactory

    for person in (garden.ada, garden.bob):
        MembershipFactory(group=secret, user=person, role="admin" if person is garden.ada else "member")
    if dmarc:
        dns[("_dmarc.example.org", "TXT")] = [dmarc]
    forged = message(sender="Bob <bob@example.org>", to="board@quorum.test", subject="Proposal: Sell the building",
                     body="We should sell.\n", signed=False)
    row = deliver(forged, to="board@quorum.test", envelope_from="bob@example.org", source=FORGING_SOURCE)

    assert (row.status, row.action) == ("held", "unconfirmed")
    assert row.sender_check.startswith("not authenticated") and "SPF fail" in row.sender_check
    assert count(Poll) == 0 and count(Discussion, Discussion.group_id == secret.id) == 0
    assert outbox.to("ada@example.org") == []  # the group heard nothing
    ask = outbox.last_to("bob@example.org")  # the real Bob, at his own address
    assert "Start a proposal" in ask.text and "We should sell." in ask.text

    link = confirmation_link(outbox, "bob@example.org")
    page = client.get(link)
    assert page.status_code == 200 and b"Did you send this?" in page.data and b"Sell the building" in page.data
    assert post(client, link).status_code == 303
    db.session.expire_all()
    assert count(Poll, Poll.title == "Sell the building") == 1
    assert db.session.scalar(select(Poll.author_id)) == garden.bob.id
    assert db.session.get(InboundMessage, row.id).status == "processed"

    again = post(client, link)  # a second confirmation does nothing
    assert again.status_code == 410 and count(Poll) == 1


def test_a_leaked_reply_address_with_a_forged_from_posts_nothing(garden, deliver, outbox):
    to = garden.address(garden.bob, "discussion", garden.thread.id)  # forwarded, or read over a shoulder
    forged = message(sender="Bob <bob@example.org>", to=to, body="I resign.\n", signed=False)
    row = deliver(forged, to=to, envelope_from="mallory@evil.example", source=FORGING_SOURCE)
    assert (row.status, row.action) == ("held", "unconfirmed")
    assert count(Comment) == 0
    assert outbox.to("mallory@evil.example") == []  # no reply to whoever sent it


def test_confirming_by_reply_acts_once_and_a_second_reply_does_nothing(garden, deliver, outbox):
    poll = garden.poll("proposal")
    to = garden.address(garden.dee, "poll", poll.id)
    deliver(message(sender="dee@example.org", to=to, body="agree\n", signed=False), to=to,
            envelope_from="dee@example.org", source=FORGING_SOURCE)
    assert count(Stance) == 0
    address = confirmation_address(outbox, "dee@example.org")
    assert address.startswith("r+k")
    # Dee's own answer is unsigned too: the token address, mailed only to her, is the proof.
    for _ in range(2):
        deliver(message(sender="dee@example.org", to=address, subject="Re: Did you send this?", body="confirm\n",
                        signed=False), to=address, envelope_from="dee@example.org", source=FORGING_SOURCE)
    assert count(Stance, Stance.participant_id == garden.dee.id) == 1
    assert count(SenderConfirmation, SenderConfirmation.used_at.is_not(None)) == 1


def test_a_reply_that_is_not_confirm_changes_nothing(garden, deliver, outbox):
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    row = deliver(message(sender="dee@example.org", to=to, body="Hello\n", signed=False), to=to,
                  envelope_from="dee@example.org", source=FORGING_SOURCE)
    address = confirmation_address(outbox, "dee@example.org")
    deliver(message(sender="dee@example.org", to=address, body="what is this?\n", signed=False), to=address,
            envelope_from="dee@example.org", source=FORGING_SOURCE)
    assert count(Comment) == 0
    db.session.expire_all()
    assert db.session.get(InboundMessage, row.id).status == "held"


def test_an_expired_confirmation_does_nothing_and_the_message_is_dropped(garden, deliver, outbox, client):
    from datetime import timedelta

    from app import storage
    from app.models import utcnow
    from app.services import sender_proof

    to = garden.address(garden.dee, "discussion", garden.thread.id)
    row = deliver(message(sender="dee@example.org", to=to, body="Late\n", signed=False), to=to,
                  envelope_from="dee@example.org", source=FORGING_SOURCE)
    link = confirmation_link(outbox, "dee@example.org")
    db.session.execute(SenderConfirmation.__table__.update().values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert post(client, link).status_code == 410 and count(Comment) == 0
    assert sender_proof.expire() == 1
    db.session.expire_all()
    row = db.session.get(InboundMessage, row.id)
    assert row.status == "rejected" and "did not confirm" in row.reason
    assert not (storage.folder("inbound") / row.storage_key).exists()


def test_a_flood_of_forgeries_mails_the_member_only_a_few_times(garden, deliver, outbox):
    from app.services.sender_proof import ASKS_PER_HOUR

    to = garden.address(garden.dee, "discussion", garden.thread.id)
    for n in range(ASKS_PER_HOUR + 3):
        deliver(message(sender="dee@example.org", to=to, body=f"Spam {n}\n", signed=False), to=to,
                envelope_from="x@evil.example", source=FORGING_SOURCE)
    asks = [m for m in outbox.to("dee@example.org") if is_ask(m)]
    assert len(asks) == ASKS_PER_HOUR and count(Comment) == 0


# --- DNS down ---------------------------------------------------------------------------------

def test_a_dns_outage_defers_the_check_and_never_counts_as_a_pass(garden, deliver, dns_server, clean_app, outbox):
    from app import dispatch

    clean_app.config["SENDER_CHECK_RETRY_SECONDS"] = 0
    try:
        to = garden.address(garden.dee, "discussion", garden.thread.id)
        dns_server.stop()
        row = deliver(message(sender="dee@example.org", to=to, body="Signed, but DNS is down\n"), to=to,
                      envelope_from="dee@example.org")
        assert row.status == "deferred" and "DNS" in row.sender_check and count(Comment) == 0
        dns_server.start()
        dispatch.sweep()  # the sweeper hands it back; the job runs again, now with DNS
        db.session.expire_all()
        assert db.session.get(InboundMessage, row.id).status == "processed" and count(Comment) == 1
    finally:
        dns_server.start()
        clean_app.config["SENDER_CHECK_RETRY_SECONDS"] = 300


def test_when_dns_stays_down_the_member_is_asked_instead(garden, deliver, dns_server, clean_app, outbox):
    from app import dispatch
    from mail.processing import SENDER_CHECK_ATTEMPTS

    clean_app.config["SENDER_CHECK_RETRY_SECONDS"] = 0
    try:
        to = garden.address(garden.dee, "discussion", garden.thread.id)
        dns_server.stop()
        row = deliver(message(sender="dee@example.org", to=to, body="Still down\n"), to=to,
                      envelope_from="dee@example.org")
        for _ in range(SENDER_CHECK_ATTEMPTS - 1):
            dispatch.sweep()
        db.session.expire_all()
        row = db.session.get(InboundMessage, row.id)
        assert (row.status, row.action, row.attempts) == ("held", "unconfirmed", SENDER_CHECK_ATTEMPTS)
        assert count(Comment) == 0 and is_ask(outbox.last_to("dee@example.org"))
    finally:
        dns_server.start()
        clean_app.config["SENDER_CHECK_RETRY_SECONDS"] = 300


# --- legitimate mail acts at once ---------------------------------------------------------------

def test_spf_pass_from_an_allowed_source_acts_at_once(garden, deliver, outbox):
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    row = deliver(message(sender="dee@example.org", to=to, body="Unsigned, sent from our server\n", signed=False),
                  to=to, envelope_from="dee@example.org", source=ALLOWED_SOURCE)
    assert row.status == "processed" and row.sender_check == "authenticated (spf example.org)"
    assert count(Comment) == 1 and outbox.to("dee@example.org") == []


def test_an_aligned_dkim_signature_acts_from_any_source(garden, deliver):
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    row = deliver(message(sender="dee@example.org", to=to, body="Signed\n"), to=to,
                  envelope_from="bounce-17@mailer.example", source=FORGING_SOURCE)
    assert row.status == "processed" and row.sender_check == "authenticated (dkim example.org)"


def test_a_signature_of_another_domain_does_not_prove_the_from_address(garden, deliver, dns):
    name, value = dkim_record("evil.example")
    dns[name] = value
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    raw = sign(message(sender="dee@example.org", to=to, body="Signed by evil\n", signed=False), "evil.example")
    row = deliver(raw, to=to, envelope_from="dee@example.org", source=FORGING_SOURCE)
    assert (row.status, row.action) == ("held", "unconfirmed") and count(Comment) == 0


def test_a_trusted_sending_service_is_bound_to_the_domain_dns_proved(garden, deliver, dns, outbox, client):
    """Dee's domain signs nothing, but her provider signs with its own domain: she confirms once
    and trusts it; later mail signed by that provider is posted; a forgery is still not."""
    name, value = dkim_record("work.example")
    dns[name] = value
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    via_provider = sign(message(sender="dee@example.org", to=to, body="First\n", signed=False), "work.example")
    deliver(via_provider, to=to, envelope_from="dee@example.org", source=FORGING_SOURCE)
    link = confirmation_link(outbox, "dee@example.org")
    assert b"work.example" in client.get(link).data
    post(client, link, {"trust": "1"})
    assert count(TrustedSender, TrustedSender.domain == "work.example", TrustedSender.method == "dkim") == 1
    second = sign(message(sender="dee@example.org", to=to, body="Second\n", signed=False), "work.example")
    assert deliver(second, to=to, envelope_from="dee@example.org", source=FORGING_SOURCE).status == "processed"
    forged = message(sender="dee@example.org", to=to, body="Forged\n", signed=False)
    assert deliver(forged, to=to, envelope_from="dee@example.org", source=FORGING_SOURCE).status == "held"
    assert [c.body for c in db.session.scalars(select(Comment).order_by(Comment.id))] == ["First", "Second"]


# --- the account takeover through held mail ---------------------------------------------------------

def test_no_admin_action_attaches_an_address_to_a_member(garden, deliver, outbox, client, dns):
    """Ada (an admin) mails the group from a look-alike address she controls, signed by its domain,
    and does everything the held-mail page offers: Bob's account never gains that address."""
    name, value = dkim_record("lookalike.example")
    dns[name] = value
    raw = sign(message(sender='"Bob" <bob.personal@lookalike.example>', to="garden@quorum.test", subject="Hello",
                       body="It's me, Bob, from my other address.\n", signed=False), "lookalike.example")
    row = deliver(raw, to="garden@quorum.test", envelope_from="bob.personal@lookalike.example", source=FORGING_SOURCE)
    assert (row.status, row.action) == ("held", "held_sender")

    sign_in(client, garden.ada)
    page = client.get("/g/garden/held").get_data(as_text=True)
    assert "Post once as a message from bob.personal@lookalike.example" in page
    assert "member_id" not in page and "/allow" not in page  # no way to name a member
    assert post(client, f"/g/garden/held/{row.id}/allow", {"member_id": str(garden.bob.id)}).status_code in (404, 405)
    assert post(client, f"/g/garden/held/{row.id}/post").status_code == 303

    db.session.expire_all()
    thread = db.session.scalar(select(Discussion).where(Discussion.title == "Hello"))
    assert thread is not None and thread.author_id != garden.bob.id
    assert db.session.get(User, thread.author_id).email == "bob.personal@lookalike.example"
    assert count(UserAlias) == 0
    from app.services.accounts import user_by_email

    assert user_by_email("bob.personal@lookalike.example").id != garden.bob.id
    # Signing in with that address signs in to the stranger's account, never to Bob's.
    from app.services.accounts import request_sign_in

    request_sign_in(email="bob.personal@lookalike.example")
    assert "Bob" not in (outbox.last_to("bob.personal@lookalike.example").text.splitlines() or [""])[0]


def test_an_unproven_strangers_message_cannot_be_posted_in_its_name(garden, deliver, client):
    raw = message(sender="ceo@bank.example", to="garden@quorum.test", subject="Wire", body="Pay now\n", signed=False)
    row = deliver(raw, to="garden@quorum.test", envelope_from="ceo@bank.example", source=FORGING_SOURCE)
    sign_in(client, garden.ada)
    page = client.get("/g/garden/held").get_data(as_text=True)
    assert "Sender not proven" in page and "Post once" not in page
    post(client, f"/g/garden/held/{row.id}/post")
    assert count(Discussion, Discussion.title == "Wire") == 0


def test_an_admin_adding_an_address_adds_it_to_their_own_account_only(garden, client, outbox):
    sign_in(client, garden.ada)
    post(client, "/account/addresses", {"email": "bob.personal@lookalike.example", "purpose": "alias",
                                        "user_id": str(garden.bob.id)})
    proof_mail = outbox.last_to("bob.personal@lookalike.example")
    [link] = [u for u in proof_mail.links() if "/account/addresses/prove/" in u]
    assert post(client, link.removeprefix("http://localhost")).status_code == 303
    db.session.expire_all()
    assert [a.user_id for a in db.session.scalars(select(UserAlias))] == [garden.ada.id]


# --- aliases by proof -------------------------------------------------------------------------------

def test_a_member_adds_an_alias_by_proof_uses_it_and_removing_it_stops_it_at_once(garden, client, outbox, deliver):
    sign_in(client, garden.dee)
    assert post(client, "/account/addresses", {"email": "dee@work.example", "purpose": "alias"}).status_code == 303
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    before = deliver(message(sender="dee@work.example", to=to, body="Too early\n"), to=to,
                     envelope_from="dee@work.example")
    assert before.status == "rejected" and "does not match" in before.reason  # not hers until proven

    [link] = [u for u in outbox.last_to("dee@work.example").links() if "/prove/" in u]
    path = link.removeprefix("http://localhost")
    assert b"Confirm dee@work.example" in client.get(path).data
    assert post(client, path).status_code == 303
    assert post(client, path).status_code == 410  # single use
    ok = deliver(message(sender="dee@work.example", to=to, body="From work\n"), to=to, envelope_from="dee@work.example")
    assert ok.status == "processed"

    page = client.get("/account/addresses").get_data(as_text=True)
    alias_id = re.search(r'/account/addresses/(\d+)/remove', page).group(1)
    assert post(client, f"/account/addresses/{alias_id}/remove").status_code == 303
    after = deliver(message(sender="dee@work.example", to=to, body="Gone\n"), to=to, envelope_from="dee@work.example")
    assert after.status == "rejected"
    assert [c.body for c in db.session.scalars(select(Comment))] == ["From work"]


def test_changing_the_primary_address_needs_the_new_mailbox_and_tells_the_old_one(garden, client, outbox):
    sign_in(client, garden.dee)
    post(client, "/account/addresses", {"email": "dee@new.example", "purpose": "primary"})
    db.session.expire_all()
    assert db.session.get(User, garden.dee.id).email == "dee@example.org"  # nothing yet
    [link] = [u for u in outbox.last_to("dee@new.example").links() if "/prove/" in u]
    post(client, link.removeprefix("http://localhost"))
    db.session.expire_all()
    assert db.session.get(User, garden.dee.id).email == "dee@new.example"
    told = outbox.last_to("dee@example.org")
    assert "now uses another address" in told.subject and "dee@new.example" in told.text


def test_an_address_of_another_account_cannot_be_proven_onto_this_one(garden, client, outbox):
    sign_in(client, garden.dee)
    post(client, "/account/addresses", {"email": "bob@example.org", "purpose": "alias"})
    [link] = [u for u in outbox.last_to("bob@example.org").links() if "/prove/" in u]
    response = post(client, link.removeprefix("http://localhost"))
    assert response.status_code == 422 and b"another Quorum account" in response.data
    assert count(UserAlias) == 0


def test_aliases_attached_before_proofs_are_cut_off_and_their_owners_told(garden, outbox, deliver):
    from app.models import utcnow
    from app.services.accounts import user_by_email
    from app.services.addresses import tell_cut_off_owners

    # What migration 0004 leaves of an alias an admin attached: cut off, not verified.
    db.session.add(UserAlias(user_id=garden.bob.id, email="bob@attacker.example", cut_off_at=utcnow()))
    db.session.commit()
    assert user_by_email("bob@attacker.example") is None
    assert tell_cut_off_owners() == 1 and tell_cut_off_owners() == 0
    notice = outbox.last_to("bob@example.org")
    assert "bob@attacker.example" in notice.subject and count(UserAlias) == 0


# --- operators see the verdict ---------------------------------------------------------------------

def test_mail_ingest_json_reports_the_verdict_and_why(garden, runner, tmp_path):
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    good, bad = tmp_path / "good.eml", tmp_path / "bad.eml"
    good.write_bytes(message(sender="dee@example.org", to=to, body="Signed\n"))
    bad.write_bytes(message(sender="dee@example.org", to=to, body="Unsigned\n", signed=False))
    signed = json.loads(runner.invoke(args=["mail", "ingest", str(good), "--dry-run", "--json"]).output)
    assert signed["authenticated"] is True and signed["sender_check"] == "authenticated (dkim example.org)"
    assert "dkim=pass header.d=example.org" in signed["authentication"] and signed["action"] == "comment"
    unsigned = json.loads(runner.invoke(args=["mail", "ingest", str(bad), "--dry-run", "--json"]).output)
    assert unsigned["authenticated"] is False and unsigned["action"] == "unconfirmed"
    assert "no DKIM signature" in unsigned["sender_check"] and "would ask dee@example.org" in unsigned["reason"]
    assert count(OutboundMessage) == 0 and count(Comment) == 0


# --- the other senders a reply address can name ---------------------------------------------------

def test_an_unproven_reply_to_an_invitation_is_confirmed_from_the_invited_mailbox(garden, deliver, outbox, client):
    from app.models import Membership
    from app.services import invitations

    invitations.invite(actor_id=garden.ada.id, group_id=garden.group.id, emails="carol@example.org")
    to = outbox.last_to("carol@example.org").header("Reply-To").strip("<>")
    row = deliver(message(sender="Carol <carol@example.org>", to=to, subject="Re: join", body="join\n", signed=False),
                  to=to, envelope_from="carol@example.org", source=FORGING_SOURCE)
    assert (row.status, row.action) == ("held", "unconfirmed") and count(User, User.email == "carol@example.org") == 0
    post(client, confirmation_link(outbox, "carol@example.org"))
    carol = db.session.scalar(select(User).where(User.email == "carol@example.org"))
    assert carol is not None and count(Membership, Membership.user_id == carol.id) == 1


def test_unproven_mail_a_member_sends_to_another_group_is_only_held_for_its_admins(garden, deliver, outbox):
    other = GroupFactory(handle="choir", name="Choir")
    admin = member(other, role="admin", email="conductor@example.org")
    row = deliver(message(sender="dee@example.org", to="choir@quorum.test", subject="Hi", body="Can I sing?\n",
                          signed=False), to="choir@quorum.test", envelope_from="dee@example.org", source=FORGING_SOURCE)
    assert (row.status, row.action) == ("held", "held_sender")
    assert outbox.last_to(admin.email).subject.startswith("[choir] Held for your approval")
    assert outbox.to("dee@example.org") == []  # nothing to confirm: nothing would be done for her


def test_an_unproven_reply_that_would_be_refused_tells_nobody(garden, deliver, outbox):
    garden.thread.closed_at = garden.thread.created_at
    db.session.commit()
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    row = deliver(message(sender="dee@example.org", to=to, body="Late\n", signed=False), to=to,
                  envelope_from="dee@example.org", source=FORGING_SOURCE)
    assert row.status == "rejected" and "closed" in row.reason and outbox.to("dee@example.org") == []
