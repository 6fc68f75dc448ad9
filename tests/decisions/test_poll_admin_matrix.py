"""Who may run a poll (close, extend, remind, reopen, outcome, edit, add an option): role × privacy × action, asked of
the policy module and of the services the web and mail both call; every refusal changes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app import policy
from app.extensions import db
from app.models import Membership, Poll, PollVoter, utcnow
from app.services import polls as service
from app.services.errors import DomainError
from tests.factories import GroupFactory, UserFactory, member

ROLES = ["author", "admin", "admin_without_2fa", "member", "named_guest", "stranger", "operator", "removed_author",
         "deleted_author"]
PRIVACIES = ["open", "closed", "secret"]
ACTIONS = ["close", "extend", "remind", "reopen", "outcome", "edit", "add_option", "add_option_where_voters_may",
           "open_draft", "edit_draft"]
RUNNING = ["remind_person", "running_settings", "add_to_thread", "review_date"]  # running a poll (issue 19)
ACTIONS += RUNNING
ACTIONS += ["withdraw_outcome"]  # a meeting's invitation is then cancelled (app/services/meetings.py)
RUNS_THE_POLL = {"author", "admin"}
VOTERS = RUNS_THE_POLL | {"member", "named_guest", "admin_without_2fa"}  # the electorate, where voters may add options


def _person(role: str, group, poll_author):
    if role == "author":
        return poll_author
    if role in ("admin", "admin_without_2fa"):
        return member(group, role="admin", email=f"{role}@example.org")
    if role == "member":
        return member(group, email="member@example.org")
    if role == "named_guest":
        return UserFactory(email="guest@example.org")
    if role == "operator":
        return UserFactory(is_site_admin=True)
    return UserFactory()


def _act(action: str, person, poll: Poll):
    later = utcnow() + timedelta(days=5)
    if action == "close":
        service.close_poll(actor_id=person.id, poll_id=poll.id)
    elif action == "extend":
        service.change_closing(actor_id=person.id, poll_id=poll.id, closing_at=later)
    elif action == "remind":
        service.remind(actor_id=person.id, poll_id=poll.id)
    elif action == "open_draft":
        service.open_poll(actor_id=person.id, poll_id=poll.id)
    elif action in ("edit", "edit_draft"):
        service.edit_poll(actor_id=person.id, poll_id=poll.id, title="Adopt it?", details="", closing_at=later)
    elif action.startswith("add_option"):
        service.add_option(actor_id=person.id, poll_id=poll.id, name="Maybe later")
    elif action == "reopen":
        service.reopen_poll(actor_id=person.id, poll_id=poll.id, closing_at=later)
    elif action == "remind_person":
        service.remind_person(actor_id=person.id, poll_id=poll.id, who="undecided@example.org")
    elif action == "running_settings":
        service.update_running(actor_id=person.id, poll_id=poll.id, settings={"shuffle_options": True})
    elif action == "add_to_thread":
        from tests.factories import DiscussionFactory

        thread = DiscussionFactory(group=poll.group, author=poll.author, title="A thread")
        service.add_to_thread(actor_id=person.id, poll_id=poll.id, discussion_id=thread.id)
    elif action == "review_date":
        service.set_review(actor_id=person.id, poll_id=poll.id, review_at=later)
    elif action == "withdraw_outcome":
        from app.services import meetings

        meetings.withdraw_outcome(actor_id=person.id, poll_id=poll.id)
    else:
        service.set_outcome(actor_id=person.id, poll_id=poll.id, statement="Decided.")


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("privacy", PRIVACIES)
@pytest.mark.parametrize("role", ROLES)
def test_only_the_author_and_the_groups_admins_run_a_poll(clean_app, role, privacy, action):
    if action in RUNNING and privacy != "secret":
        pytest.skip("the running actions' policy is privacy-blind: checked in the strictest group (keeps the suite fast)")
    group = GroupFactory(handle="club", privacy=privacy, admins_require_2fa=role == "admin_without_2fa")
    author = member(group, email="author@example.org")
    member(group, email="undecided@example.org")
    poll = service.create_poll(actor_id=author.id, group_id=group.id, poll_type="poll", title="Adopt?",
                               options=["Yes", "No"], closing_at=utcnow() + timedelta(days=3), voter_scope="group",
                               voters_can_add_options=action == "add_option_where_voters_may",
                               draft=action.endswith("_draft"))
    if action in ("reopen", "outcome", "review_date", "withdraw_outcome"):
        service.close_poll(actor_id=author.id, poll_id=poll.id)
    if action in ("review_date", "withdraw_outcome"):
        service.set_outcome(actor_id=author.id, poll_id=poll.id, statement="Decided.")
    person = _person(role, group, author)
    if role == "named_guest":  # may vote, by name, without being a member
        db.session.add(PollVoter(poll_id=poll.id, email=person.email, user_id=person.id))
    if role == "removed_author":
        person = author
        db.session.query(Membership).filter_by(user_id=author.id).delete()
    if role == "deleted_author":
        person = author
        author.deleted_at = utcnow()
    db.session.commit()
    policy.forget_memberships()

    fresh = db.session.get(Poll, poll.id)
    assert policy.can_administer_poll(person, fresh) == (role in RUNS_THE_POLL)
    want = role in (VOTERS if action == "add_option_where_voters_may" else RUNS_THE_POLL)
    if action.startswith("add_option"):
        assert policy.can_add_option(person, fresh) == want
    if action.endswith("_draft"):  # a draft is seen only by those who may open it
        assert policy.can_view_poll(person, fresh) == want == policy.can_open_poll(person, fresh)
    if action in ("close", "extend", "remind", "edit", "edit_draft"):
        assert policy.can_edit_poll(person, fresh) == want
    if action == "reopen":
        assert policy.can_reopen_poll(person, fresh) == want
    if action == "outcome":
        assert policy.can_write_outcome(person, fresh) == want
    if action == "remind_person":
        assert policy.can_remind(person, fresh) == want
    if action == "withdraw_outcome":
        assert policy.can_withdraw_outcome(person, fresh) == want

    before = (fresh.closed_at, fresh.closing_at)
    try:
        _act(action, person, fresh)
        done = True
    except DomainError:
        db.session.rollback()
        done = False
    assert done == want, f"{role} {action}: {'allowed' if done else 'refused'}"
    if not want:
        db.session.expire_all()
        after = db.session.get(Poll, poll.id)
        assert (after.closed_at, after.closing_at, after.title, len(after.options)) == (*before, "Adopt?", 2)
        assert after.draft == action.endswith("_draft")
        if action == "withdraw_outcome":
            assert service.latest_outcome(poll.id).statement == "Decided."


RECEIPT_ROLES = ["author", "admin", "member", "named_guest", "stranger", "signed_out", "removed_author"]


@pytest.mark.parametrize("privacy", PRIVACIES)
@pytest.mark.parametrize("role", RECEIPT_ROLES)
def test_receipts_are_for_signed_in_people_who_may_see_a_named_poll(clean_app, role, privacy):
    """Who took part (never what): whoever may see the poll, signed in; never for an anonymous poll."""
    from flask_login import AnonymousUserMixin

    group = GroupFactory(handle="club", privacy=privacy)
    author = member(group, email="author@example.org")
    voter = member(group, email="voter@example.org")
    polls = {}
    for anonymous in (False, True):
        poll = service.create_poll(actor_id=author.id, group_id=group.id, poll_type="poll", title="Adopt?",
                                   options=["Yes", "No"], closing_at=utcnow() + timedelta(days=3), anonymous=anonymous)
        service.cast_vote(actor_id=voter.id, poll_id=poll.id, choices={poll.options[0].id: 1})
        polls[anonymous] = poll.id
    person = AnonymousUserMixin() if role == "signed_out" else _person(role, group, author)
    if role == "named_guest":
        for poll_id in polls.values():
            db.session.add(PollVoter(poll_id=poll_id, email=person.email, user_id=person.id))
    if role == "removed_author":
        person = author
        db.session.query(Membership).filter_by(user_id=author.id).delete()
    db.session.commit()
    policy.forget_memberships()
    insider = role in ("author", "admin", "member", "named_guest")
    outsider_sees = privacy == "open" and role in ("stranger", "removed_author")
    for anonymous, poll_id in polls.items():
        fresh = db.session.get(Poll, poll_id)
        want = not anonymous and (insider or outsider_sees)
        assert policy.can_see_receipts(person, fresh) == want, (anonymous, role)
        assert [r.name for r in service.receipts(person, fresh)] == ([voter.display_name] if want else [])
