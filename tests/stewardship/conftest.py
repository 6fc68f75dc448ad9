"""A group with something in every table an export covers, built with factories and real files."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from app import storage
from app.extensions import db
from app.models import (
    AccessLog, Attachment, AuditLog, Event, Invitation, JoinRequest, Outcome, Participation, Poll, PollOption,
    PollVoter, Reaction, ReadState, SenderRule, Stance, StanceChoice, SupportGrant, Template, Version, utcnow,
)
from tests.factories import CommentFactory, DiscussionFactory, GroupFactory, UserFactory, member

ATTACHMENT_BYTES = b"%PDF-1.4 minutes of the annual meeting \x00\x01\x02 binary tail"


def add_attachment(*, uploader, content: bytes, filename: str, **target) -> Attachment:
    key = storage.write("attachments", content)
    row = Attachment(uploader_id=uploader.id, filename=filename, content_type="application/pdf", size=len(content),
                     sha256=hashlib.sha256(content).hexdigest(), storage_key=key, **target)
    db.session.add(row)
    db.session.commit()
    return row


def make_poll(group, author, *, title, anonymous=False, hide_results="off", closed=False, discussion=None,
              options=("Agree", "Abstain", "Disagree", "Block")) -> Poll:
    now = utcnow()
    poll = Poll(group_id=group.id, discussion_id=discussion.id if discussion else None, author_id=author.id,
                poll_type="proposal", title=title, details="Shall we?", closing_at=now + timedelta(days=3),
                closed_at=now if closed else None, anonymous=anonymous, hide_results=hide_results)
    poll.options = [PollOption(name=name, priority=i) for i, name in enumerate(options)]
    db.session.add(poll)
    db.session.commit()
    return poll


def vote(poll, user, option_index: int, reason: str, *, keep_voter: bool = True) -> Stance:
    stance = Stance(poll_id=poll.id, participant_id=user.id if keep_voter else None, reason=reason)
    stance.stance_choices = [StanceChoice(poll_option_id=poll.options[option_index].id, score=1)]
    db.session.add(stance)
    db.session.add(Participation(poll_id=poll.id, user_id=user.id))
    db.session.add(Event(kind="stance_created", group_id=poll.group_id, poll_id=poll.id,
                         actor_id=None if poll.anonymous else user.id))
    db.session.commit()
    return stance


@pytest.fixture
def rich_group(clean_app):
    group = GroupFactory(name="Allotment Society", handle="allotments", privacy="secret",
                         description="We grow **vegetables**. See https://example.org/plots")
    admin = member(group, role="admin", name="Ada Admin", email="ada@example.org")
    bea = member(group, name="Bea Builder", email="bea@example.org")
    cy = member(group, name="Cy Secret", email="cy@example.org")
    gone = member(group, name="Gone Soon", email="gone@example.org")
    outsider = UserFactory(name="Olly Outsider", email="olly@example.org")
    thread = DiscussionFactory(group=group, author=admin, title="Shed roof", body="The roof **leaks**.")
    first = CommentFactory(discussion=thread, author=bea, body="I can fix it on Saturday.")
    reply = CommentFactory(discussion=thread, author=admin, body="Thank you!", parent=first)
    CommentFactory(discussion=thread, author=gone, body="Count me in.")
    thread2 = DiscussionFactory(group=group, author=bea, title="Compost rota", body="Who turns the heap?")
    db.session.add_all([
        Reaction(user_id=bea.id, discussion_id=thread.id, comment_id=reply.id, emoji="🎉"),
        Reaction(user_id=admin.id, discussion_id=thread.id, comment_id=None, emoji="👍"),
        Version(item_type="discussion", item_id=thread.id, number=1, author_id=admin.id, title="Shed", body="Roof."),
        Version(item_type="discussion", item_id=thread.id, number=2, author_id=admin.id, title="Shed roof",
                body="The roof **leaks**."),
        Version(item_type="comment", item_id=first.id, number=1, author_id=bea.id, body="I can fix it on Saturday."),
        ReadState(user_id=bea.id, discussion_id=thread.id, last_read_at=utcnow(), read_comments_count=2,
                  volume="mentions", participating=True),
        Invitation(group_id=group.id, email="new@example.org", token_hash="x" * 64, inviter_id=admin.id),
        JoinRequest(group_id=group.id, user_id=outsider.id, message="Can I join?"),
        SenderRule(group_id=group.id, email="council@example.org", rule="allow", decided_by_id=admin.id),
        Template(group_id=group.id, kind="poll", name="Pick a work day", title="Work day: ", details="Which day?",
                 poll_type="proposal", process="consent", options=[], position=8, author_id=admin.id),
        Template(group_id=group.id, default_key="retrospective", kind="thread", name="Retrospective", hidden=True),
        Event(kind="discussion_started", group_id=group.id, discussion_id=thread.id, actor_id=admin.id),
        Event(kind="comment_posted", group_id=group.id, discussion_id=thread.id, comment_id=first.id, actor_id=bea.id),
        AuditLog(actor_id=admin.id, group_id=group.id, action="role_changed", details={"user": bea.id}),
    ])
    db.session.commit()
    add_attachment(uploader=bea, content=ATTACHMENT_BYTES, filename="minutes 2026.pdf", comment_id=first.id,
                   discussion_id=thread.id)
    add_attachment(uploader=admin, content=b"roof photo bytes", filename="roof.jpg", discussion_id=thread.id)

    open_poll = make_poll(group, admin, title="Buy a new roof", discussion=thread)
    db.session.add(PollVoter(poll_id=open_poll.id, user_id=bea.id, email="bea@example.org"))
    vote(open_poll, bea, 0, "It is time")
    vote(open_poll, gone, 3, "Too expensive")
    closed = make_poll(group, admin, title="Paint it green", closed=True)
    vote(closed, bea, 0, "Green is nice")
    db.session.add(Outcome(poll_id=closed.id, author_id=admin.id, statement="We paint it green.",
                           poll_option_id=closed.options[0].id))
    anon_closed = make_poll(group, admin, title="Secret ballot on fees", anonymous=True, closed=True)
    vote(anon_closed, cy, 2, "Fees are too high already", keep_voter=False)
    anon_open = make_poll(group, admin, title="Anonymous poll on the chair", anonymous=True)
    vote(anon_open, cy, 2, "I would rather not say who", keep_voter=True)  # linked until closing
    hidden = make_poll(group, admin, title="Hidden until closed", hide_results="until_closed")
    vote(hidden, bea, 1, "reason that reveals my choice")
    operator = UserFactory(name="Opal Operator", email="opal@example.org", is_site_admin=True)
    grant = SupportGrant(group_id=group.id, granted_by_id=admin.id, operator_id=operator.id,
                         reason="debugging digests", expires_at=utcnow() - timedelta(days=1))
    db.session.add(grant)
    db.session.flush()
    db.session.add(AccessLog(grant_id=grant.id, group_id=group.id, operator_id=operator.id, path="/g/allotments"))
    db.session.commit()
    return {
        "group": group, "admin": admin, "bea": bea, "cy": cy, "gone": gone, "outsider": outsider,
        "thread": thread, "thread2": thread2, "comment": first, "open_poll": open_poll, "closed_poll": closed,
        "anon_closed": anon_closed, "anon_open": anon_open, "hidden": hidden, "operator": operator,
    }
