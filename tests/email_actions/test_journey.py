"""A member who never opens a browser: joins, reads, replies, starts a decision, votes, switches to
a digest and unsubscribes, all through the real SMTP server and the outbox (no web request)."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Comment, Discussion, Membership, Poll, Stance, User
from app.services import invitations
from app.services.discussions import post_comment

from .conftest import message

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

GMAIL_REPLY = """Count me in!

On Tue, 7 Jan 2025 at 09:00, Bob via Garden <notifications@quorum.test> wrote:
> Who can help on Saturday? Bring gloves.
>
> --
> You are a member of Garden.
"""

OUTLOOK_REPLY = """Sounds good, I'll bring the spades.

________________________________
From: Bob via Garden <notifications@quorum.test>
Sent: Tuesday, January 7, 2025 9:00 AM
To: carol@example.org
Subject: [garden] Garden day

Who can help on Saturday? Bring gloves.
"""


def reply_to(mail) -> tuple[str, str]:
    """(Reply-To address, Message-ID) of a mail we sent: what a mail client's Reply uses."""
    return mail.header("Reply-To"), mail.header("Message-ID")


def mails_of_kind(outbox, address: str, kind: str):
    return [m for m in outbox.to(address) if m.path.name.startswith(kind + "-")]


def stance_of(user, poll) -> dict[str, int]:
    db.session.expire_all()
    stance = db.session.scalar(select(Stance).where(Stance.poll_id == poll.id, Stance.participant_id == user.id,
                                                    Stance.latest.is_(True)))
    names = {o.id: o.name for o in poll.options}
    return {names[k]: v for k, v in stance.choices.items()}


def test_a_member_takes_part_by_email_alone(garden, send, outbox):
    g = garden
    # An admin invites Carol, who has no account. She replies "join".
    invitations.invite(actor_id=g.ada.id, group_id=g.group.id, emails="carol@example.org")
    invitation = outbox.last_to("carol@example.org")
    to, msgid = reply_to(invitation)
    assert to.startswith("r+i")
    row = send(message(sender="Carol Jones <carol@example.org>", to=to, subject="Re: " + invitation.subject,
                       body="join\n", in_reply_to=msgid), to=to, envelope_from="carol@example.org")
    assert (row.status, row.action) == ("processed", "join")
    carol = db.session.scalar(select(User).where(User.email == "carol@example.org"))
    assert carol.name == "Carol Jones" and carol.email_verified_at is not None
    assert db.session.scalar(select(Membership).where(Membership.user_id == carol.id)).role == "member"
    welcome = outbox.last_to("carol@example.org")
    assert welcome.subject == "Re: " + invitation.subject and "You are now a member of Garden" in welcome.text

    # Bob starts a thread by writing to the group's address, with a photo.
    group_address = "garden@quorum.test"
    row = send(message(sender="Bob <bob@example.org>", to=group_address, subject="Fwd: Re: Work party on Saturday",
                       body="Who can help on Saturday? Bring gloves.\n", attachments=[("beds.png", "image/png", PNG)]),
               to=group_address, envelope_from="bob@example.org")
    assert (row.status, row.action) == ("processed", "new_thread")
    thread = db.session.scalar(select(Discussion).where(Discussion.title == "Work party on Saturday"))
    assert thread.body == "Who can help on Saturday? Bring gloves." and thread.source == "email"
    assert [a.filename for a in db.session.scalars(select(Attachment).where(Attachment.discussion_id == thread.id))] \
        == ["beds.png"]

    # The new thread arrives; Carol replies twice, once like Gmail and once like Outlook.
    started = outbox.last_to("carol@example.org")
    assert "Work party on Saturday" in started.subject
    to, msgid = reply_to(started)
    for body in (GMAIL_REPLY, OUTLOOK_REPLY):
        row = send(message(sender="Carol Jones <carol@example.org>", to=to, subject="Re: " + started.subject,
                           body=body, in_reply_to=msgid), to=to, envelope_from="carol@example.org")
        assert (row.status, row.action) == ("processed", "comment")
    bodies = list(db.session.scalars(select(Comment.body).where(Comment.discussion_id == thread.id)
                                     .order_by(Comment.id)))
    assert bodies == ["Count me in!", "Sounds good, I'll bring the spades."]

    # Bob starts a proposal by mail; everyone votes by reply.
    row = send(message(sender="Bob <bob@example.org>", to=group_address, subject="Proposal: Buy a new mower",
                       body="The old one is broken.\nCloses: in 3 days\n"), to=group_address,
               envelope_from="bob@example.org")
    assert (row.status, row.action) == ("processed", "new_poll")
    proposal = db.session.scalar(select(Poll).where(Poll.title == "Buy a new mower"))
    assert proposal.poll_type == "proposal" and proposal.details == "The old one is broken."
    for voter, vote in ((carol, "agree"), (g.dee, "disagree: too costly"), (g.ada, "2")):
        poll_mail = [m for m in outbox.to(voter.email) if "Buy a new mower" in m.subject][0]
        to, msgid = reply_to(poll_mail)
        row = send(message(sender=voter.email, to=to, subject="Re: " + poll_mail.subject, body=vote + "\n",
                           in_reply_to=msgid), to=to, envelope_from=voter.email)
        assert (row.status, row.action) == ("processed", "vote")
    assert stance_of(carol, proposal) == {"Agree": 1}
    assert stance_of(g.dee, proposal) == {"Disagree": 1}
    assert db.session.scalar(select(Stance.reason).where(Stance.participant_id == g.dee.id)) == "too costly"
    assert stance_of(g.ada, proposal) == {"Abstain": 1}
    confirmation = outbox.last_to("dee@example.org")
    assert confirmation.subject == "Re: [garden] Proposal: Buy a new mower"  # in Dee's own conversation
    assert "Disagree" in confirmation.text and "too costly" in confirmation.text and "To change your vote" in confirmation.text

    # A multiple-choice poll and a ranked-choice poll, voted by reply.
    multiple = g.poll("poll", title="Which days?", options=["Monday", "Wednesday", "Friday"], max_choices=2)
    ranked = g.poll("ranked_choice", title="Which crop first?", options=["Apples", "Beans", "Carrots"])
    for poll, vote in ((multiple, "1, 3"), (ranked, "C, A, B")):
        poll_mail = [m for m in outbox.to("carol@example.org") if poll.title in m.subject][0]
        to, msgid = reply_to(poll_mail)
        row = send(message(sender="carol@example.org", to=to, subject="Re: " + poll_mail.subject, body=vote + "\n",
                           in_reply_to=msgid), to=to, envelope_from="carol@example.org")
        assert (row.status, row.action) == ("processed", "vote")
    assert stance_of(carol, multiple) == {"Monday": 1, "Friday": 1}
    ranking = stance_of(carol, ranked)
    assert sorted(ranking, key=ranking.get, reverse=True) == ["Carrots", "Apples", "Beans"]

    # Carol switches Garden to a weekly digest by reply, then unsubscribes.
    to, msgid = reply_to(started)
    row = send(message(sender="carol@example.org", to=to, body="digest weekly\n", in_reply_to=msgid), to=to,
               envelope_from="carol@example.org")
    assert (row.status, row.action) == ("processed", "digest")
    db.session.expire_all()
    assert db.session.scalar(select(Membership.volume).where(Membership.user_id == carol.id)) == "digest"
    assert db.session.get(User, carol.id).digest_frequency == "weekly"
    assert "as one weekly digest" in outbox.last_to("carol@example.org").text

    row = send(message(sender="carol@example.org", to=to, body="Unsubscribe\n", in_reply_to=msgid), to=to,
               envelope_from="carol@example.org")
    assert (row.status, row.action) == ("processed", "unsubscribe")
    assert db.session.scalar(select(Membership.volume).where(Membership.user_id == carol.id)) == "mute"
    assert "You will get no more email from Garden" in outbox.last_to("carol@example.org").text

    # From now on Garden sends Carol nothing.
    before = len(outbox.to("carol@example.org"))
    post_comment(actor_id=g.bob.id, discussion_id=thread.id, body="Thanks all, see you Saturday.")
    g.poll("proposal", title="Plant a hedge")
    assert len(outbox.to("carol@example.org")) == before
    # And no email action ever signed anyone in.
    from app.models import SignInEvent

    assert db.session.scalar(select(func.count(SignInEvent.id))) == 0


def test_replies_from_the_shared_corpus_are_posted_without_their_quotes(garden, send, shared_corpora):
    """An Outlook reply and one quoting with "On …, … wrote:", as collected by Discourse's trimmer."""
    folder = shared_corpora / "email_reply_trimmer" / "test"
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    for name in ("email_headers_1.txt", "embedded_email_1.txt"):
        body = (folder / "emails" / name).read_text()
        row = send(message(sender="dee@example.org", to=to, body=body), to=to, envelope_from="dee@example.org")
        assert (row.status, row.action) == ("processed", "comment")
        posted = db.session.get(Comment, row_comment_id(row))
        assert posted.body == (folder / "trimmed" / name).read_text().strip()


def row_comment_id(row) -> int:
    return db.session.scalar(select(Comment.id).where(Comment.inbound_message_id == row.id))
