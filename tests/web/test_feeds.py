"""Atom feeds of groups and threads: valid Atom (RFC 4287) read back by a real XML parser, what is in
them, and who may read them: every privacy × role, with and without a feed token."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import FeedToken, Membership, SupportGrant, utcnow
from app.services import discussions, feeds
from app.services import polls as poll_service
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import post, sign_in

A = "{http://www.w3.org/2005/Atom}"


def parse(response) -> ET.Element:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/atom+xml"
    return ET.fromstring(response.get_data())


def _rfc3339(value: str) -> datetime:
    assert value.endswith("Z") or value[-6] in "+-", value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_valid_atom(feed: ET.Element) -> None:
    """The RFC 4287 musts of atom:feed and atom:entry (section 4.1)."""
    assert feed.tag == A + "feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(A + name)) == 1, name
    _rfc3339(feed.findtext(A + "updated"))
    assert any(link.get("rel") == "self" for link in feed.findall(A + "link"))
    feed_has_author = feed.find(A + "author/" + A + "name") is not None
    ids = []
    for entry in feed.findall(A + "entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(A + name)) == 1, name
        ids.append(entry.findtext(A + "id"))
        assert entry.findtext(A + "id").startswith("tag:")
        _rfc3339(entry.findtext(A + "updated"))
        assert _rfc3339(entry.findtext(A + "published")) <= _rfc3339(entry.findtext(A + "updated"))
        assert feed_has_author or entry.find(A + "author/" + A + "name") is not None
        content = entry.find(A + "content")
        alternate = [link for link in entry.findall(A + "link") if link.get("rel", "alternate") == "alternate"]
        assert content is not None or alternate  # 4.1.1: content, or a link to it
        if content is not None:
            assert content.get("type") in ("text", "html", "xhtml")
    assert len(ids) == len(set(ids)), "entry ids are unique"


def entries(feed: ET.Element) -> dict[str, ET.Element]:
    return {e.findtext(A + "title"): e for e in feed.findall(A + "entry")}


@pytest.fixture
def club(clean_app):
    group = GroupFactory(handle="club", name="Club", privacy="closed", description="Our club")
    admin = member(group, role="admin", name="Ada Admin")
    bea = member(group, name="Béa Ünïcode")
    thread = discussions.start_thread(actor_id=admin.id, group_id=group.id, title="Garden plans",
                                      body="Let us **dig** <script>alert(1)</script> [a](javascript:alert(2))")
    comment = discussions.post_comment(actor_id=bea.id, discussion_id=thread.id, body="Yes \x01 please, *soon*")
    return {"group": group, "admin": admin, "bea": bea, "thread": thread, "comment": comment}


def test_a_group_feed_is_valid_atom_with_every_kind_of_entry(client, club):
    admin, thread = club["admin"], club["thread"]
    poll = poll_service.create_poll(actor_id=admin.id, discussion_id=thread.id, poll_type="proposal",
                                    title="Dig on Sunday?", details="Bring *spades*",
                                    closing_at=utcnow() + timedelta(days=2))
    poll_service.close_poll(actor_id=admin.id, poll_id=poll.id)
    poll_service.set_outcome(actor_id=admin.id, poll_id=poll.id, statement="We dig on **Sunday**.")
    gone = discussions.post_comment(actor_id=admin.id, discussion_id=thread.id, body="Deleted words")
    discussions.delete_comment(actor_id=admin.id, comment_id=gone.id)
    token = feeds.issue_feed_token(user_id=club["bea"].id)

    feed = parse(client.get(f"/g/club/feed.atom?token={token}"))
    assert_valid_atom(feed)
    assert feed.findtext(A + "title") == "Club"
    found = entries(feed)
    assert set(found) == {"Garden plans", "Re: Garden plans", "Proposal: Dig on Sunday?", "Closed: Dig on Sunday?",
                          "Outcome: Dig on Sunday?"}
    started = found["Garden plans"]
    assert started.findtext(A + "author/" + A + "name") == "Ada Admin"
    html = started.findtext(A + "content")
    assert "<strong>dig</strong>" in html and "<script" not in html and "href=\"javascript" not in html
    assert found["Re: Garden plans"].findtext(A + "author/" + A + "name") == "Béa Ünïcode"
    assert "\x01" not in found["Re: Garden plans"].findtext(A + "content")  # XML 1.0 cannot carry it
    assert "<strong>Sunday</strong>" in found["Outcome: Dig on Sunday?"].findtext(A + "content")
    assert "Deleted words" not in client.get(f"/g/club/feed.atom?token={token}").get_data(as_text=True)
    link = found["Re: Garden plans"].find(A + "link").get("href")
    assert link == f"http://localhost/d/{thread.id}#c{club['comment'].id}"


def test_entry_ids_are_stable_and_an_edit_moves_updated_only(client, club):
    token = feeds.issue_feed_token(user_id=club["bea"].id)
    before = entries(parse(client.get(f"/g/club/feed.atom?token={token}")))["Re: Garden plans"]
    discussions.edit_comment(actor_id=club["bea"].id, comment_id=club["comment"].id, body="Yes, edited")
    after = entries(parse(client.get(f"/g/club/feed.atom?token={token}")))["Re: Garden plans"]
    assert after.findtext(A + "id") == before.findtext(A + "id")
    assert after.findtext(A + "published") == before.findtext(A + "published")
    assert _rfc3339(after.findtext(A + "updated")) >= _rfc3339(before.findtext(A + "updated"))
    assert "edited" in after.findtext(A + "content")


def test_a_thread_feed_holds_that_thread_only(client, club):
    other = discussions.start_thread(actor_id=club["admin"].id, group_id=club["group"].id, title="Other thread")
    token = feeds.issue_feed_token(user_id=club["admin"].id)
    feed = parse(client.get(f"/d/{club['thread'].id}/feed.atom?token={token}"))
    assert_valid_atom(feed)
    assert set(entries(feed)) == {"Garden plans", "Re: Garden plans"}
    assert "Other thread" in entries(parse(client.get(f"/g/club/feed.atom?token={token}")))
    assert other.id


def test_the_group_and_thread_pages_name_their_feeds(client, club):
    sign_in(client, club["bea"])
    page = client.get("/g/club").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml" title="Club" href="/g/club/feed.atom">' in page
    thread_page = client.get(f"/d/{club['thread'].id}").get_data(as_text=True)
    assert f'type="application/atom+xml" title="Garden plans" href="/d/{club["thread"].id}/feed.atom"' in thread_page
    assert "your feed token" in page  # a private group's feed reader needs it


def test_an_open_group_feed_needs_no_token_and_is_linked_for_visitors(client, clean_app):
    group = GroupFactory(handle="park", name="Park", privacy="open")
    author = member(group)
    discussions.start_thread(actor_id=author.id, group_id=group.id, title="Benches", body="More benches")
    assert_valid_atom(parse(client.get("/g/park/feed.atom")))
    assert 'href="/g/park/feed.atom"' in client.get("/g/park").get_data(as_text=True)


# --- Who may read a feed -----------------------------------------------------------------

ROLES = ["signed_out", "stranger_with_token", "member_with_token", "admin_with_token", "member_signed_in",
         "left_the_group", "operator_with_grant", "deleted_member", "wrong_token", "revoked_token"]
PRIVACIES = ["open", "closed", "secret"]


def expected(role: str, privacy: str) -> bool:
    if role in ("wrong_token", "revoked_token", "deleted_member"):
        return False  # a bad token (or an erased account's) is 404 whatever the group
    if role in ("member_with_token", "admin_with_token", "member_signed_in"):
        return True
    return privacy == "open"  # a grant opens pages for an operator, never a standing feed


@pytest.mark.parametrize("privacy", PRIVACIES)
@pytest.mark.parametrize("role", ROLES)
def test_who_may_read_a_feed(client, clean_app, role, privacy):
    group = GroupFactory(handle="club", name="Club", privacy=privacy)
    author = member(group, role="admin")
    thread = discussions.start_thread(actor_id=author.id, group_id=group.id, title="Quokka plans", body="quokka")
    query = ""
    if role != "signed_out":
        person = UserFactory(is_site_admin=role == "operator_with_grant")
        if role in ("member_with_token", "member_signed_in", "left_the_group", "deleted_member", "revoked_token"):
            db.session.add(Membership(group_id=group.id, user_id=person.id))
        if role == "admin_with_token":
            db.session.add(Membership(group_id=group.id, user_id=person.id, role="admin"))
        if role == "operator_with_grant":
            db.session.add(SupportGrant(group_id=group.id, operator_id=person.id, reason="help",
                                        expires_at=utcnow() + timedelta(hours=4)))
        db.session.commit()
        token = feeds.issue_feed_token(user_id=person.id)
        query = f"?token={token}"
        if role == "left_the_group":
            from app.services import memberships

            memberships.leave_group(actor_id=person.id, group_id=group.id)
        if role == "deleted_member":
            person.deleted_at = utcnow()
            db.session.commit()
        if role == "revoked_token":
            feeds.revoke_feed_token(user_id=person.id)
        if role == "wrong_token":
            query = "?token=" + token[:-2] + ("xx" if not token.endswith("xx") else "yy")
        if role == "member_signed_in":
            sign_in(client, person)
            query = ""

    responses = [client.get(f"/g/club/feed.atom{query}"), client.get(f"/d/{thread.id}/feed.atom{query}")]
    allowed = expected(role, privacy)
    for response in responses:
        assert response.status_code == (200 if allowed else 404), (role, privacy, response.status_code)
        if allowed:
            assert "Quokka plans" in response.get_data(as_text=True)
        else:
            body = response.get_data(as_text=True)
            assert "Quokka" not in body and "Club" not in body  # nothing about the group
    # A bad token's answer is the same for a group that does not exist at all.
    if not allowed:
        missing = client.get(f"/g/no-such-group/feed.atom{query}")
        assert (missing.status_code, missing.get_data()) == (responses[0].status_code, responses[0].get_data())


def test_a_deleted_thread_has_no_feed(client, club):
    token = feeds.issue_feed_token(user_id=club["admin"].id)
    discussions.delete_discussion(actor_id=club["admin"].id, discussion_id=club["thread"].id)
    assert client.get(f"/d/{club['thread'].id}/feed.atom?token={token}").status_code == 404
    assert "Garden plans" not in client.get(f"/g/club/feed.atom?token={token}").get_data(as_text=True)


def test_a_thread_moved_to_a_secret_group_leaves_the_open_feed(client, clean_app):
    park = GroupFactory(handle="park", privacy="open")
    hush = GroupFactory(handle="hush", privacy="secret")
    admin = member(park, role="admin")
    db.session.add(Membership(group_id=hush.id, user_id=admin.id, role="admin"))
    db.session.commit()
    thread = discussions.start_thread(actor_id=admin.id, group_id=park.id, title="Quiet plan")
    discussions.post_comment(actor_id=admin.id, discussion_id=thread.id, body="hush now")
    discussions.move_discussion(actor_id=admin.id, discussion_id=thread.id, to_group_id=hush.id)
    body = client.get("/g/park/feed.atom").get_data(as_text=True)
    assert "Quiet plan" not in body and "hush now" not in body
    assert client.get(f"/d/{thread.id}/feed.atom").status_code == 404


# --- The feed token -----------------------------------------------------------------------

def test_the_token_is_shown_once_stored_hashed_and_a_new_one_ends_the_old(client, club):
    bea = club["bea"]
    sign_in(client, bea)
    assert "You have no feed token" in client.get("/account/feeds").get_data(as_text=True)
    shown = post(client, "/account/feeds")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    page = shown.get_data(as_text=True)
    token = page.split("Token: <code>")[1].split("</code>")[0]
    assert f"http://localhost/g/club/feed.atom?token={token}" in page
    stored = db.session.scalar(select(FeedToken).where(FeedToken.user_id == bea.id))
    assert stored.token_hash != token and token not in stored.token_hash
    assert token not in client.get("/account/feeds").get_data(as_text=True)  # never again
    assert client.get(f"/g/club/feed.atom?token={token}").status_code == 200

    renewed = post(client, "/account/feeds").get_data(as_text=True).split("Token: <code>")[1].split("</code>")[0]
    assert renewed != token
    assert client.get(f"/g/club/feed.atom?token={token}").status_code == 404
    assert client.get(f"/g/club/feed.atom?token={renewed}").status_code == 200

    assert post(client, "/account/feeds/revoke").status_code == 303
    assert client.get(f"/g/club/feed.atom?token={renewed}").status_code == 404
    assert "You have no feed token" in client.get("/account/feeds").get_data(as_text=True)


def test_feed_token_pages_need_a_signed_in_member_and_csrf(client, club):
    assert client.get("/account/feeds").status_code == 302
    assert client.post("/account/feeds").status_code in (302, 400)
    sign_in(client, club["bea"])
    assert client.post("/account/feeds").status_code == 400  # no CSRF token
    assert db.session.scalar(select(FeedToken)) is None


def test_a_feed_token_never_reaches_a_log(client, club, caplog):
    from app.redaction import redact

    token = feeds.issue_feed_token(user_id=club["bea"].id)
    with caplog.at_level(logging.DEBUG):
        client.get(f"/g/club/feed.atom?token={token}")
        client.get(f"/d/{club['thread'].id}/feed.atom?token={token}")
        client.get("/g/club/feed.atom?token=not-a-real-token")
    assert token not in caplog.text
    # The web server's access log writes the request line and the query string through redact().
    for line in (f"GET /g/club/feed.atom?token={token} HTTP/1.1", f"token={token}",
                 f'"http://localhost/d/1/feed.atom?token={token}"'):
        assert token not in redact(line)
    assert token not in " ".join(str(v) for row in db.session.execute(text("SELECT * FROM feed_tokens")) for v in row)


def test_a_conditional_request_gets_304(client, clean_app):
    group = GroupFactory(handle="park", privacy="open")
    discussions.start_thread(actor_id=member(group).id, group_id=group.id, title="Benches")
    first = client.get("/g/park/feed.atom")
    again = client.get("/g/park/feed.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_a_draft_poll_is_in_no_feed_until_it_opens(client, club):
    """A draft is seen by its author and the admins only; a feed is read by every member."""
    admin, thread = club["admin"], club["thread"]
    draft = poll_service.create_poll(actor_id=admin.id, discussion_id=thread.id, poll_type="proposal",
                                     title="Secret plan", closing_at=utcnow() + timedelta(days=2), draft=True)
    token = feeds.issue_feed_token(user_id=club["bea"].id)
    for path in (f"/g/club/feed.atom?token={token}", f"/d/{thread.id}/feed.atom?token={token}"):
        assert "Secret plan" not in client.get(path).get_data(as_text=True), path
    poll_service.open_poll(actor_id=admin.id, poll_id=draft.id)
    for path in (f"/g/club/feed.atom?token={token}", f"/d/{thread.id}/feed.atom?token={token}"):
        assert "Proposal: Secret plan" in entries(parse(client.get(path))), path
