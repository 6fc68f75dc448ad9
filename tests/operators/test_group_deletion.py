"""/admin/groups: size, privacy, activity; archive, restore; delete after a grace period announced to the
group's admins (with the export), cancellable, done once by the scheduled job."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Comment, Discussion, Group, Membership, Poll, utcnow
from app.services import discussions, site_admin as service
from tests.factories import GroupFactory, member
from tests.helpers import post, sign_in


def test_the_groups_page_shows_size_privacy_and_activity_but_no_content(client, garden, site_admin):
    discussions.post_comment(actor_id=garden.bob.id, discussion_id=garden.thread.id, body="Bring the spades")
    sign_in(client, site_admin)
    page = client.get("/admin/groups").get_data(as_text=True)
    row = page[page.index(f'id="group-{garden.group.id}"'):].split("</tr>")[0]
    assert "Garden" in row and "closed" in row and "<td>3</td>" in row and "<td>1</td>" in row
    assert utcnow().strftime("%Y-%m-%d") in row
    assert "Garden day" not in page and "Bring the spades" not in page and "ada@example.org" not in page


def test_a_site_admin_archives_and_restores_a_group(client, garden, site_admin):
    sign_in(client, site_admin)
    assert post(client, f"/admin/groups/{garden.group.id}/archive").status_code == 303
    db.session.refresh(garden.group)
    assert garden.group.archived_at is not None
    assert client.get("/g/garden").status_code == 404  # archiving shows the site admin no content either
    assert post(client, f"/admin/groups/{garden.group.id}/restore").status_code == 303
    db.session.refresh(garden.group)
    assert garden.group.archived_at is None


def test_deleting_waits_a_grace_period_told_to_the_admins_and_can_be_cancelled(client, garden, site_admin, outbox):
    sign_in(client, site_admin)
    assert post(client, f"/admin/groups/{garden.group.id}/delete").status_code == 303
    db.session.refresh(garden.group)
    assert garden.group.deletion_due_at is not None and garden.group.archived_at is not None
    assert timedelta(days=6, hours=23) < garden.group.deletion_due_at - utcnow() <= timedelta(days=7)
    mail = outbox.last_to("ada@example.org")
    assert "deleted in 7 days" in mail.subject and "http://localhost/g/garden/export" in mail.text
    assert "/g/garden/export" in mail.html
    assert not outbox.to("bob@example.org")  # only the admins are told
    assert service.delete_due_groups() == 0  # not due yet
    admin_page = client.application.test_client()
    sign_in(admin_page, garden.ada)
    assert admin_page.get("/g/garden/export").status_code == 200  # the admins can still export it
    assert post(client, f"/admin/groups/{garden.group.id}/cancel-deletion").status_code == 303
    db.session.refresh(garden.group)
    assert garden.group.deletion_due_at is None
    assert service.delete_due_groups(now=utcnow() + timedelta(days=8)) == 0


def test_the_job_deletes_a_due_group_and_everything_in_it_once(garden, site_admin):
    other = GroupFactory(handle="orchard", name="Orchard")
    member(other, email="ola@example.org")
    sub = GroupFactory(handle="gardenkids", name="Garden kids", parent=garden.group)
    member(sub, email="kid@example.org")
    discussions.post_comment(actor_id=garden.bob.id, discussion_id=garden.thread.id, body="Bring the spades")
    garden.poll("proposal")
    service.schedule_deletion(site_admin, group_id=garden.group.id)
    group_id, sub_id, other_id = garden.group.id, sub.id, other.id
    later = utcnow() + timedelta(days=8)
    assert service.delete_due_groups(now=later) == 1
    assert service.delete_due_groups(now=later) == 0  # claimed: never twice
    db.session.expire_all()
    assert db.session.get(Group, group_id) is None and db.session.get(Group, sub_id) is None
    assert db.session.scalar(select(func.count(Discussion.id))) == 0
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert db.session.scalar(select(func.count(Poll.id))) == 0
    assert db.session.scalar(select(func.count(Membership.id))) == 1  # the other group's only
    assert db.session.get(Group, other_id) is not None
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "group_deleted"))
    assert entry.details["handle"] == "garden"  # the audit log keeps the deletion
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "group_deletion_scheduled")) is not None


def test_group_admins_cannot_schedule_deletion(client, garden):
    sign_in(client, garden.ada)
    assert post(client, f"/admin/groups/{garden.group.id}/delete").status_code == 404
    db.session.refresh(garden.group)
    assert garden.group.deletion_due_at is None
