"""Each API operation does what its web form does, through the same services: a member starts a
thread, comments, replies, closes it, starts and runs a decision; admins list members and invite."""
from __future__ import annotations

from datetime import timedelta

from app.models import utcnow
from app.services import discussions
from tests.factories import GroupFactory, UserFactory, member
from tests.api.conftest import later


def _club(privacy="closed"):
    group = GroupFactory(handle="club", name="Club", privacy=privacy, description="We meet")
    admin = member(group, role="admin", name="Ada", email="ada@example.org")
    bea = member(group, name="Bea", email="bea@example.org")
    return group, admin, bea


def test_me_names_the_token_holder_and_its_scope(api_as, clean_app):
    _, admin, _ = _club()
    got = api_as(admin, "read").get("/me")
    assert got.status_code == 200
    assert got.json == {"person": {"id": admin.id, "name": "Ada", "bot": False}, "scope": "read", "bot_group": None}


def test_groups_list_and_show(api_as, clean_app):
    _, _, bea = _club()
    GroupFactory(handle="hidden", privacy="secret")
    api = api_as(bea, "read")
    listed = api.get("/groups").json
    assert [g["handle"] for g in listed["items"]] == ["club"] and listed["next"] is None
    shown = api.get("/groups/club").json
    assert shown["name"] == "Club" and shown["description"] == "We meet" and shown["role"] == "member"
    assert api.get("/groups/hidden").status_code == 404  # secret: not there, as on the web


def test_threads_comments_and_replies_round_trip(api_as, clean_app, outbox):
    _, admin, bea = _club()
    api = api_as(bea)
    made = api.post("/groups/club/threads", {"title": "Roof repairs", "body": "The *roof* leaks."})
    assert made.status_code == 201, made.json
    thread = made.json
    assert thread["title"] == "Roof repairs" and thread["author"]["name"] == "Bea" and thread["url"].endswith(f"/d/{thread['id']}")

    comment = api.post(f"/threads/{thread['id']}/comments", {"body": "I can fix it"})
    assert comment.status_code == 201 and comment.json["parent_id"] is None
    reply = api_as(admin).post(f"/comments/{comment.json['id']}/replies", {"body": "Thank you!"})
    assert reply.status_code == 201 and reply.json["parent_id"] == comment.json["id"]

    listed = api.get(f"/threads/{thread['id']}/comments").json["items"]
    assert [c["body"] for c in listed] == ["I can fix it", "Thank you!"]
    assert api.get("/groups/club/threads").json["items"][0]["id"] == thread["id"]
    shown = api.get(f"/threads/{thread['id']}").json
    assert shown["comments_count"] == 2 and shown["poll_ids"] == []

    closed = api.post(f"/threads/{thread['id']}/close")
    assert closed.status_code == 200 and closed.json["closed_at"]
    refused = api.post(f"/threads/{thread['id']}/comments", {"body": "late"})
    assert refused.status_code == 403
    assert refused.json["detail"] == "This thread is closed, so it takes no new comments."  # the form's words
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert api.post(f"/threads/{thread['id']}/reopen").json["closed_at"] is None


def test_a_form_error_is_a_422_naming_the_field_with_the_forms_message(api_as, clean_app):
    _, _, bea = _club()
    got = api_as(bea).post("/groups/club/threads", {"title": "   "})
    assert got.status_code == 422
    assert got.json["errors"] == [{"field": "title", "message": "Please give the thread a title."}]


def test_members_are_listed_for_admins_only_and_admins_invite(api_as, clean_app, outbox):
    _, admin, bea = _club()
    members = api_as(admin, "read").get("/groups/club/members")
    assert members.status_code == 200
    assert sorted(m["person"]["name"] for m in members.json["items"]) == ["Ada", "Bea"]
    assert api_as(bea, "read").get("/groups/club/members").status_code == 403

    invited = api_as(admin).post("/groups/club/invitations", {"emails": ["new@example.org", "bea@example.org"]})
    assert invited.status_code == 201
    assert invited.json == {"invited": ["new@example.org"], "members": ["bea@example.org"], "pending": []}
    assert any("new@example.org" in str(m.to) for m in outbox.messages())
    bad = api_as(admin).post("/groups/club/invitations", {"emails": ["not an address"]})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "emails"


def test_a_proposal_is_created_voted_closed_and_given_an_outcome(api_as, clean_app, outbox):
    _, admin, bea = _club()
    thread = discussions.start_thread(actor_id=admin.id, group_id=_club_id(), title="Budget", body="")
    made = api_as(admin).post("/groups/club/polls", {"poll_type": "proposal", "title": "Fix the roof?",
                                                      "closing_at": later(), "thread_id": thread.id})
    assert made.status_code == 201, made.json
    poll = made.json
    assert poll["type"] == "proposal" and poll["thread_id"] == thread.id and poll["can_vote"]
    agree = next(o for o in poll["options"] if o["name"].lower().startswith("agree"))

    voted = api_as(bea).post(f"/polls/{poll['id']}/votes", {"choices": {str(agree["id"]): 1}, "reason": "Yes"})
    assert voted.status_code == 200, voted.json
    assert voted.json["my_vote"]["choices"] == {str(agree["id"]): 1}
    assert voted.json["results"]["visible"] and voted.json["results"]["voter_count"] == 1
    by_text = api_as(admin).post(f"/polls/{poll['id']}/votes", {"text": "disagree: too costly"})
    assert by_text.status_code == 200 and by_text.json["results"]["voter_count"] == 2

    early = api_as(admin).post(f"/polls/{poll['id']}/outcome", {"statement": "We fix it"})
    assert early.status_code == 403 and early.json["detail"] == "The outcome is written once the poll has closed."
    assert api_as(bea).post(f"/polls/{poll['id']}/close").status_code == 403
    closed = api_as(admin).post(f"/polls/{poll['id']}/close")
    assert closed.status_code == 200 and closed.json["closed_at"]
    outcome = api_as(admin).post(f"/polls/{poll['id']}/outcome", {"statement": "We fix it in spring"})
    assert outcome.status_code == 201 and outcome.json["outcome"]["statement"] == "We fix it in spring"
    assert api_as(bea).get(f"/polls/{poll['id']}").json["outcome"]["statement"] == "We fix it in spring"


def _club_id():
    from app.models import Group
    from app.extensions import db

    return db.session.query(Group.id).filter_by(handle="club").scalar()


BODIES = {
    "proposal": {}, "check": {}, "count": {"target": 3}, "question": {},
    "poll": {"options": ["Red", "Blue", "Green"], "max_choices": 2},
    "dot_vote": {"options": ["Red", "Blue"], "dots_per_person": 5},
    "score": {"options": ["Red", "Blue"], "min_score": 0, "max_score": 5},
    "ranked_choice": {"options": ["Red", "Blue", "Green"]},
    "meeting": {"slots": None},
}
VOTES = {"proposal": "agree", "check": "1", "count": "in", "question": "Tuesdays suit me", "poll": "1, 2",
         "dot_vote": "Red: 3, Blue: 2", "score": "Red=4, Blue=2", "ranked_choice": "Green, Red, Blue",
         "meeting": "yes 1; maybe 2"}


def test_every_poll_type_can_be_started_and_voted_by_reply_grammar(api_as, clean_app, outbox):
    from app.polls import POLL_TYPES

    _, admin, bea = _club()
    assert set(BODIES) == set(POLL_TYPES)
    for poll_type, extra in BODIES.items():
        body = {"poll_type": poll_type, "title": f"A {poll_type}", "closing_at": later(), **extra}
        if poll_type == "meeting":
            body["slots"] = [later(5), later(6)]
        made = api_as(admin).post("/groups/club/polls", body)
        assert made.status_code == 201, (poll_type, made.json)
        voted = api_as(bea).post(f"/polls/{made.json['id']}/votes", {"text": VOTES[poll_type]})
        assert voted.status_code == 200, (poll_type, voted.json)
        assert voted.json["results"]["voter_count"] == 1, poll_type


def test_a_poll_error_names_its_field(api_as, clean_app):
    _, admin, _ = _club()
    past = "2001-01-01T00:00:00Z"
    got = api_as(admin).post("/groups/club/polls", {"poll_type": "proposal", "title": "Old", "closing_at": past})
    assert got.status_code == 422
    assert got.json["errors"] == [{"field": "closing_at", "message": "The closing time must be in the future."}]
    unknown = api_as(admin).post("/groups/club/polls", {"poll_type": "lottery", "title": "x", "closing_at": later()})
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "poll_type"


def test_search_and_notifications(api_as, clean_app, outbox):
    _, admin, bea = _club()
    thread = discussions.start_thread(actor_id=admin.id, group_id=_club_id(), title="Quokka plans", body="")
    discussions.post_comment(actor_id=admin.id, discussion_id=thread.id, body="More quokka")
    from app.services import fanout  # noqa: F401  (events fan out when the commit hands them on)

    hits = api_as(bea, "read").get("/search?q=quokka").json["items"]
    assert {h["thread_id"] for h in hits} == {thread.id} and {h["kind"] for h in hits} == {"thread", "comment"}
    assert api_as(UserFactory(), "read").get("/search?q=quokka").json["items"] == []
    # The page's search finds decisions, outcomes and reasons too; so does the API, with the same filters.
    from app.services import polls as poll_service

    poll = poll_service.create_poll(actor_id=admin.id, group_id=_club_id(), poll_type="proposal",
                                    title="Quokka budget", closing_at=utcnow() + timedelta(days=2))
    hits = api_as(bea, "read").get("/search?q=quokka").json["items"]
    assert {h["kind"] for h in hits} == {"thread", "comment", "poll"}
    standalone = [h for h in hits if h["kind"] == "poll"][0]
    assert standalone["poll_id"] == poll.id and standalone["thread_id"] is None and standalone["group"] == "club"
    polls_only = api_as(bea, "read").get("/search?q=quokka&kind=poll&status=open").json["items"]
    assert [h["poll_id"] for h in polls_only] == [poll.id]
    assert api_as(bea, "read").get("/search?q=quokka&kind=outcome").json["items"] == []
    assert api_as(bea, "read").get("/search?q=quokka&group=nowhere").status_code == 404
    notes = api_as(bea, "read").get("/notifications")
    assert notes.status_code == 200
    kinds = [n["kind"] for n in notes.json["items"]]
    assert "discussion_started" in kinds and "poll_created" in kinds
    assert all(n["thread"]["title"] == "Quokka plans" for n in notes.json["items"] if n["kind"] != "poll_created")
