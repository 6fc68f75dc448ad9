"""Every list pages with an opaque cursor and a `next` link; a page holds still while rows are added."""
from __future__ import annotations

from app.services import discussions
from tests.factories import GroupFactory, member


def _walk(api, path):
    seen, url = [], path
    while url:
        got = api.get(url)
        assert got.status_code == 200, got.json
        seen.append(got.json["items"])
        nxt = got.json["next"]
        if nxt:
            assert got.headers["Link"] == f'<{nxt}>; rel="next"'
        url = nxt.split("/api/v1", 1)[1] if nxt else None
    return seen


def test_threads_page_without_repeats_or_gaps_while_new_ones_are_started(api_as, clean_app, outbox):
    group = GroupFactory(handle="club")
    bea = member(group)
    ids = [discussions.start_thread(actor_id=bea.id, group_id=group.id, title=f"T{i}", body="").id for i in range(7)]
    api = api_as(bea, "read")
    first = api.get("/groups/club/threads?limit=3").json
    assert [t["id"] for t in first["items"]] == ids[::-1][:3]
    for i in range(4):  # new threads arrive while the reader pages on
        discussions.start_thread(actor_id=bea.id, group_id=group.id, title=f"New {i}", body="")
    rest = _walk(api, first["next"].split("/api/v1", 1)[1])
    got = [t["id"] for t in first["items"]] + [t["id"] for page in rest for t in page]
    assert got == ids[::-1]  # every old thread exactly once, in order


def test_comments_page_in_order_while_comments_are_added(api_as, clean_app, outbox):
    group = GroupFactory(handle="club")
    bea = member(group)
    thread = discussions.start_thread(actor_id=bea.id, group_id=group.id, title="Long", body="")
    ids = [discussions.post_comment(actor_id=bea.id, discussion_id=thread.id, body=f"c{i}").id for i in range(5)]
    api = api_as(bea, "read")
    first = api.get(f"/threads/{thread.id}/comments?limit=2").json
    later = discussions.post_comment(actor_id=bea.id, discussion_id=thread.id, body="late").id
    rest = _walk(api, first["next"].split("/api/v1", 1)[1])
    got = [c["id"] for c in first["items"]] + [c["id"] for page in rest for c in page]
    assert got == ids + [later]


def test_a_forged_or_foreign_cursor_is_a_422_on_the_cursor(api_as, clean_app, outbox):
    group = GroupFactory(handle="club")
    bea = member(group)
    for i in range(3):
        discussions.start_thread(actor_id=bea.id, group_id=group.id, title=f"T{i}", body="")
    api = api_as(bea, "read")
    cursor = api.get("/groups/club/threads?limit=1").json["next"].split("cursor=")[1]
    assert api.get("/groups/club/threads?cursor=abc").status_code == 422
    foreign = api.get(f"/groups?cursor={cursor}")  # a threads cursor on the groups list
    assert foreign.status_code == 422 and foreign.json["errors"][0]["field"] == "cursor"


def test_groups_members_search_and_notifications_page_too(api_as, clean_app, outbox):
    groups = [GroupFactory(handle=f"g{i}", privacy="open") for i in range(3)]
    admin = member(groups[0], role="admin")
    for g in groups[1:]:
        member(g, email=f"x{g.handle}@example.org")
    others = [member(groups[0]) for _ in range(3)]
    api = api_as(admin, "read")
    assert sum(len(p) for p in _walk(api, "/groups?limit=1")) == 3
    assert sum(len(p) for p in _walk(api, "/groups/g0/members?limit=2")) == 4
    for i, other in enumerate(others):
        discussions.start_thread(actor_id=other.id, group_id=groups[0].id, title=f"Wombat {i}", body="")
    hits = [h["thread_id"] for p in _walk(api, "/search?q=wombat&limit=2") for h in p]
    assert len(hits) == 3 == len(set(hits))
    notes = [n["thread"]["title"] for p in _walk(api, "/notifications?limit=1") for n in p]
    assert notes == ["Wombat 2", "Wombat 1", "Wombat 0"]
