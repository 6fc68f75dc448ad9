"""Merging two accounts of one person: only once both addresses proved control (each followed its own
mailed link); memberships, content and votes move; a poll both voted in keeps the kept account's vote."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Comment, Membership, Participation, Stance, User, UserAlias
from app.services import discussions, site_admin as service
from app.services.accounts import user_by_email
from app.services.polls import cast_vote
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.helpers import post, sign_in


def link_in(mail) -> str:
    return re.search(r"http://localhost(/merge/[\w-]+)", mail.text).group(1)


def test_two_accounts_merge_only_after_both_addresses_confirm(client, garden, site_admin, outbox):
    work = UserFactory(email="ada@work.example", name="Ada at work")
    orchard = GroupFactory(handle="orchard", name="Orchard")
    MembershipFactory(group=orchard, user=work, role="admin")
    MembershipFactory(group=garden.group, user=work, role="member")
    comment = discussions.post_comment(actor_id=work.id, discussion_id=garden.thread.id, body="From work")
    poll = garden.poll("proposal")
    agree, disagree = (next(o.id for o in poll.options if o.name.lower() == n) for n in ("agree", "disagree"))
    cast_vote(actor_id=garden.ada.id, poll_id=poll.id, choices={str(agree): 1})
    cast_vote(actor_id=work.id, poll_id=poll.id, choices={str(disagree): 1})
    work_id = work.id

    sign_in(client, site_admin)
    assert post(client, "/admin/people/merge", {"kept_email": "ada@example.org",
                                                "merged_email": "ada@work.example"}).status_code == 303
    kept_link, merged_link = link_in(outbox.last_to("ada@example.org")), link_in(outbox.last_to("ada@work.example"))
    assert kept_link != merged_link

    visitor = client.application.test_client()  # the person, signed out, from each mailbox
    page = visitor.get(kept_link)
    assert page.status_code == 200 and "Yes, both accounts are mine" in page.get_data(as_text=True)
    assert db.session.get(User, work_id).deleted_at is None  # a GET changes nothing
    assert post(visitor, kept_link).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, work_id).deleted_at is None  # one proof is not enough
    assert post(visitor, merged_link).status_code == 303
    db.session.expire_all()

    assert db.session.get(User, work_id).deleted_at is not None
    assert user_by_email("ada@work.example").id == garden.ada.id  # the address is now Ada's alias
    assert db.session.scalar(select(UserAlias).where(UserAlias.email == "ada@work.example")).verified_at
    roles = {m.group_id: m.role for m in db.session.scalars(select(Membership).where(Membership.user_id == garden.ada.id))}
    assert roles == {garden.group.id: "admin", orchard.id: "admin"}
    assert db.session.get(Comment, comment.id).author_id == garden.ada.id
    # Both had voted: Ada's own vote stands, and she counts once.
    assert db.session.scalar(select(Participation.id).where(Participation.user_id == garden.ada.id)) is not None
    latest = list(db.session.scalars(select(Stance).where(Stance.poll_id == poll.id, Stance.latest.is_(True))))
    assert len(latest) == 1 and latest[0].stance_choices[0].poll_option_id == agree
    row = db.session.scalars(select(service.AccountMerge)).one()
    assert row.conflicts == 1 and "both accounts had voted" in row.report
    assert "both accounts had voted" in client.get("/admin/people/merge").get_data(as_text=True)
    assert "already merged" in visitor.get(merged_link).get_data(as_text=True) or \
        "are merged" in visitor.get(merged_link).get_data(as_text=True)
    assert {"merge_requested", "accounts_merged"} <= set(db.session.scalars(select(AuditLog.action)))


def test_a_merge_request_needs_two_existing_different_accounts(client, garden, site_admin):
    sign_in(client, site_admin)
    same = post(client, "/admin/people/merge", {"kept_email": "ada@example.org", "merged_email": "ada@example.org"})
    assert same.status_code == 422 and "same account" in same.get_data(as_text=True)
    unknown = post(client, "/admin/people/merge", {"kept_email": "ada@example.org", "merged_email": "x@example.org"})
    assert unknown.status_code == 422 and "No account has x@example.org" in unknown.get_data(as_text=True)


def test_a_cancelled_merge_link_does_nothing(client, garden, site_admin, outbox):
    sign_in(client, site_admin)
    post(client, "/admin/people/merge", {"kept_email": "ada@example.org", "merged_email": "bob@example.org"})
    links = link_in(outbox.last_to("ada@example.org")), link_in(outbox.last_to("bob@example.org"))
    merge = db.session.scalars(select(service.AccountMerge)).one()
    assert post(client, f"/admin/people/merge/{merge.id}/cancel").status_code == 303
    visitor = client.application.test_client()
    for link in links:
        post(visitor, link)
    db.session.expire_all()
    assert db.session.get(User, garden.bob.id).deleted_at is None
    assert "cancelled" in visitor.get(links[0]).get_data(as_text=True)
    assert visitor.get("/merge/not-a-token").status_code == 404
