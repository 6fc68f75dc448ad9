"""An archived group is read-only, hidden from lists, refuses mail with an explanation, and its
members may leave the archive."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Comment, Membership, utcnow
from app.services import discussions
from app.services.errors import NotAllowed
from mail.pipeline import process
from tests.email_actions.conftest import message
from tests.factories import UserFactory
from tests.helpers import post, sign_in


def test_an_admin_archives_and_restores_from_the_settings_page(client, garden):
    sign_in(client, garden.ada)
    assert "Archive the group" in client.get("/g/garden/settings").get_data(as_text=True)
    assert post(client, "/g/garden/archive").status_code == 303
    db.session.refresh(garden.group)
    assert garden.group.archived_at is not None
    page = client.get("/g/garden").get_data(as_text=True)
    assert "This group is archived" in page and "Start a thread" not in page
    assert post(client, "/g/garden/restore").status_code == 303
    db.session.refresh(garden.group)
    assert garden.group.archived_at is None
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.group_id == garden.group.id)))
    assert {"group_archived", "group_restored"} <= set(actions)


def test_a_member_cannot_archive(client, garden):
    sign_in(client, garden.bob)
    assert post(client, "/g/garden/archive").status_code == 403
    db.session.refresh(garden.group)
    assert garden.group.archived_at is None


def test_an_archive_is_read_only(client, garden):
    garden.group.archived_at = utcnow()
    db.session.commit()
    sign_in(client, garden.bob)
    thread = client.get(f"/d/{garden.thread.id}")
    assert thread.status_code == 200 and 'name="body"' not in thread.get_data(as_text=True)
    refused = post(client, f"/d/{garden.thread.id}/comments", {"body": "Still here"})
    assert refused.status_code in (403, 422)
    assert db.session.scalar(select(Comment).where(Comment.body == "Still here")) is None
    with pytest.raises(NotAllowed):
        discussions.start_thread(actor_id=garden.bob.id, group_id=garden.group.id, title="New", body="x")
    garden.group.archived_at = None
    db.session.commit()
    poll = garden.poll("proposal")
    garden.group.archived_at = utcnow()
    db.session.commit()
    from app.services.polls import cast_vote

    agree = next(o.id for o in poll.options if o.name.lower() == "agree")
    with pytest.raises(NotAllowed, match="archived"):
        cast_vote(actor_id=garden.bob.id, poll_id=poll.id, choices={str(agree): 1})


def test_an_archive_is_hidden_from_lists_and_from_outsiders(client, garden):
    garden.group.privacy = "open"
    garden.group.archived_at = utcnow()
    db.session.commit()
    assert "Garden" not in client.get("/groups").get_data(as_text=True)  # the directory
    assert client.get("/g/garden").status_code == 404  # nobody else knows it exists
    stranger = UserFactory()
    sign_in(client, stranger)
    assert client.get("/g/garden").status_code == 404
    assert post(client, "/g/garden/join").status_code in (403, 404)
    sign_in(client, garden.bob)
    assert client.get("/g/garden").status_code == 200  # its members still read it
    assert "Garden day" not in client.get("/").get_data(as_text=True)  # not on the dashboard


def test_mail_to_an_archived_group_is_refused_with_an_explanation(garden, outbox):
    garden.group.archived_at = utcnow()
    db.session.commit()
    to = "garden@quorum.test"
    outcome = process(message(sender="bob@example.org", to=to, body="A new idea", subject="Idea"),
                      envelope_from="bob@example.org", recipients=[to])
    assert outcome.action == "refused" and "archived" in outcome.reason
    assert "Garden is archived" in outbox.last_to("bob@example.org").text
    reply_to = garden.address(garden.dee, "discussion", garden.thread.id)
    outcome = process(message(sender="dee@example.org", to=reply_to, body="Late reply"),
                      envelope_from="dee@example.org", recipients=[reply_to])
    assert outcome.status == "rejected"
    assert db.session.scalar(select(Comment).where(Comment.body.contains("Late reply"))) is None


def test_a_member_leaves_an_archive(client, garden):
    garden.group.archived_at = utcnow()
    db.session.commit()
    sign_in(client, garden.ada)  # even the only admin may leave an archive
    assert "Leave this archive" in client.get("/g/garden").get_data(as_text=True)
    assert post(client, "/g/garden/leave-archive").status_code == 303
    assert db.session.scalar(select(Membership).where(Membership.user_id == garden.ada.id)) is None
    assert client.get("/g/garden").status_code == 404
    sign_in(client, garden.bob)
    garden.group.archived_at = None
    db.session.commit()
    assert post(client, "/g/garden/leave-archive").status_code == 403  # not archived: the usual leave
