"""Every refusal has the right outcome and at most one explanation; strangers are held for the
group's admins, who allow (the address becomes a member's) or block."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Discussion, InboundMessage, OutboundMessage, SenderRule, Stance, User, UserAlias, utcnow
from app.services import held_mail
from mail.pipeline import process

from .conftest import message


def explanations_to(address: str) -> int:
    return db.session.scalar(select(func.count(OutboundMessage.id)).where(
        OutboundMessage.kind == "inbound_refused", OutboundMessage.to_address == address)) or 0


def run(raw: bytes, to: str, sender: str):
    return process(raw, envelope_from=sender, recipients=[to])


def test_a_reply_to_a_closed_thread_is_refused_with_one_explanation(garden, outbox):
    garden.thread.closed_at = utcnow()
    db.session.commit()
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    for _ in range(2):
        outcome = run(message(sender="dee@example.org", to=to, body="Late, sorry!"), to, "dee@example.org")
        assert (outcome.status, outcome.action) == ("rejected", "comment") and "closed" in outcome.reason
    assert explanations_to("dee@example.org") == 1  # the second is rate-limited
    assert "is closed" in outbox.last_to("dee@example.org").text


def test_a_reply_after_leaving_the_group_is_refused(garden):
    from app.services.memberships import leave_group

    to = garden.address(garden.dee, "discussion", garden.thread.id)
    leave_group(actor_id=garden.dee.id, group_id=garden.group.id)
    outcome = run(message(sender="dee@example.org", to=to, body="Still here?"), to, "dee@example.org")
    assert outcome.status == "rejected" and "no longer a member" in outcome.reason
    assert explanations_to("dee@example.org") == 1


def test_a_vote_in_a_poll_one_may_not_vote_in_is_refused(garden):
    poll = garden.poll("proposal", voter_scope="specified", voters=["bob@example.org"])
    to = garden.address(garden.dee, "poll", poll.id)
    outcome = run(message(sender="dee@example.org", to=to, body="agree"), to, "dee@example.org")
    assert (outcome.status, outcome.action) == ("rejected", "vote") and "not one of the people" in outcome.reason
    assert db.session.scalar(select(Stance.id)) is None and explanations_to("dee@example.org") == 1


def test_starting_a_thread_without_permission_is_refused(garden):
    garden.group.members_can_start_threads = False
    db.session.commit()
    to = "garden@quorum.test"
    outcome = run(message(sender="dee@example.org", to=to, subject="My idea", body="Let's build a pond."), to,
                  "dee@example.org")
    assert (outcome.status, outcome.action) == ("rejected", "new_thread") and "admins" in outcome.reason
    assert db.session.scalar(select(Discussion.id).where(Discussion.title == "My idea")) is None
    assert explanations_to("dee@example.org") == 1


def test_an_ambiguous_vote_in_a_standalone_poll_is_explained_and_nothing_is_recorded(garden, outbox):
    poll = garden.poll("poll", options=["Apple tart", "Apple crumble", "Pear"])
    to = garden.address(garden.dee, "poll", poll.id)
    outcome = run(message(sender="dee@example.org", to=to, body="apple"), to, "dee@example.org")
    assert (outcome.status, outcome.action) == ("rejected", "vote") and "could mean" in outcome.reason
    assert db.session.scalar(select(Stance.id)) is None
    assert explanations_to("dee@example.org") == 1
    assert "1. Apple tart" in outbox.last_to("dee@example.org").text


def test_a_vote_after_the_poll_closed_is_refused(garden):
    from app.services.polls import close_poll

    poll = garden.poll("proposal")
    close_poll(actor_id=garden.ada.id, poll_id=poll.id)
    to = garden.address(garden.dee, "poll", poll.id)
    outcome = run(message(sender="dee@example.org", to=to, body="agree"), to, "dee@example.org")
    assert outcome.status == "rejected" and "votes are no longer taken" in outcome.reason


def test_a_command_that_does_not_apply_is_explained(garden):
    to = garden.address(garden.dee, "group", garden.group.id)
    outcome = run(message(sender="dee@example.org", to=to, subject="mute", body="mute"), to, "dee@example.org")
    assert (outcome.status, outcome.action) == ("rejected", "mute") and "unsubscribe" in outcome.reason
    outcome = run(message(sender="dee@example.org", to=to, subject="x", body="digest monthly"), to, "dee@example.org")
    assert (outcome.status, outcome.action) == ("rejected", "digest")


def test_list_unsubscribe_mailto_with_no_text_unsubscribes(garden, outbox):
    to = garden.address(garden.dee, "group", garden.group.id)
    outcome = run(message(sender="dee@example.org", to=to, subject="unsubscribe", body=""), to, "dee@example.org")
    assert (outcome.status, outcome.action) == ("processed", "unsubscribe")
    told = outbox.last_to("dee@example.org")
    assert told.subject == "Re: unsubscribe" and "You will get no more email from Garden" in told.text


def test_help_lists_the_commands(garden, outbox):
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    outcome = run(message(sender="dee@example.org", to=to, body="help"), to, "dee@example.org")
    assert (outcome.status, outcome.action) == ("processed", "help")
    text = outbox.last_to("dee@example.org").text
    assert "digest weekly" in text and "unsubscribe" in text and "garden@quorum.test" in text


def test_mute_by_reply_mutes_only_that_thread(garden):
    from app.models import Membership, ReadState

    to = garden.address(garden.dee, "comment", _comment(garden).id)
    outcome = run(message(sender="dee@example.org", to=to, body="Mute."), to, "dee@example.org")
    assert (outcome.status, outcome.action) == ("processed", "mute")
    assert db.session.scalar(select(ReadState.volume).where(ReadState.user_id == garden.dee.id)) == "mute"
    assert db.session.scalar(select(Membership.volume).where(Membership.user_id == garden.dee.id)) == "all"


def _comment(garden):
    from tests.factories import CommentFactory

    return CommentFactory(discussion=garden.thread, author=garden.bob)


# --- strangers writing to the group ---------------------------------------------------------

def test_mail_from_an_unknown_sender_is_held_and_the_admins_are_told(garden, send, outbox):
    to = "garden@quorum.test"
    row = send(message(sender="Dee at work <dee@work.example>", to=to, subject="Seeds", body="Who has seeds?"),
               to=to, envelope_from="dee@work.example")
    assert (row.status, row.action, row.group_id) == ("held", "held_sender", garden.group.id)
    assert explanations_to("dee@work.example") == 0  # no backscatter to strangers
    notice = outbox.last_to("ada@example.org")
    assert "Held for your approval: Seeds" in notice.subject and "/g/garden/held" in notice.text
    assert outbox.to("bob@example.org") == []  # members are not admins

    # Ada posts it once: a thread by dee@work.example (not by Dee, and no alias of anyone's).
    held_mail.post_once(garden.ada, group=garden.group, inbound_id=row.id)
    db.session.expire_all()
    assert db.session.get(InboundMessage, row.id).status == "processed"
    author = db.session.scalar(select(Discussion.author_id).where(Discussion.title == "Seeds"))
    assert author not in (garden.dee.id, None)
    assert db.session.get(User, author).email == "dee@work.example"
    assert db.session.scalar(select(UserAlias.id)) is None


def test_a_blocked_sender_is_refused_without_asking_again(garden, send, outbox):
    to = "garden@quorum.test"
    first = send(message(sender="spam@junk.example", to=to, subject="Offer", body="Buy now"), to=to,
                 envelope_from="spam@junk.example")
    held_mail.block(garden.ada, group=garden.group, inbound_id=first.id)
    assert db.session.scalar(select(SenderRule.rule)) == "block"
    notices = len(outbox.to("ada@example.org"))
    again = send(message(sender="spam@junk.example", to=to, subject="Offer 2", body="Buy now"), to=to,
                 envelope_from="spam@junk.example")
    assert (again.status, again.action) == ("rejected", "blocked_sender")
    assert len(outbox.to("ada@example.org")) == notices


def test_only_admins_see_the_held_mail_page(garden, send, client):
    from tests.helpers import post, sign_in

    to = "garden@quorum.test"
    row = send(message(sender="dee@work.example", to=to, subject="Seeds", body="Who has seeds?"), to=to,
               envelope_from="dee@work.example")
    sign_in(client, garden.bob)
    assert client.get("/g/garden/held").status_code == 404
    sign_in(client, garden.ada)
    page = client.get("/g/garden/held")
    assert page.status_code == 200 and b"dee@work.example" in page.data
    response = post(client, f"/g/garden/held/{row.id}/post")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(InboundMessage, row.id).status == "processed"


def test_held_mail_shows_the_admins_a_safe_preview_of_its_text(garden, send, outbox, client):
    from email.message import EmailMessage
    from email.policy import SMTP

    from tests.helpers import sign_in
    from tests.mailauth import sign

    to = "garden@quorum.test"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Dee <dee@work.example>", to, "Plants for sale"
    msg["Message-ID"], msg["Date"] = "<plants-1@work.example>", "Tue, 07 Jan 2025 10:00:00 +0000"
    msg.set_content('<p>Hello gardeners,</p><script>alert("x")</script><p>I have <b>forty</b> tomato plants &amp; '
                    'some basil.</p><img src="https://tracker.example/p.gif">', subtype="html")
    row = send(sign(msg.as_bytes(policy=SMTP), "work.example"), to=to, envelope_from="dee@work.example")
    assert row.status == "held"

    notice = outbox.last_to("ada@example.org")
    assert "It begins:" in notice.text and "I have forty tomato plants & some basil." in notice.text
    assert "<script" not in (notice.html or "") and "tracker.example" not in (notice.html or "")

    sign_in(client, garden.ada)
    page = client.get("/g/garden/held").get_data(as_text=True)
    assert "Hello gardeners," in page and "I have forty tomato plants &amp; some basil." in page
    assert "alert(" not in page and "<b>forty" not in page and "tracker.example" not in page
