"""Bad input never gets a 500: every GET route, with real, missing and malformed values."""
from __future__ import annotations

import re

import pytest

from tests.factories import CommentFactory, DiscussionFactory, GroupFactory, member
from tests.helpers import post, sign_in

ODD_VALUES = ["999999", "0", "-1", "abc", "%00", "..%2f..%2fetc", "🙂", "x" * 300]


def _fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values.get(m.group(1), "1"), rule)


@pytest.fixture
def world(db_session):
    group = GroupFactory(handle="garden", privacy="closed")
    admin = member(group, role="admin", email="admin@example.org")
    discussion = DiscussionFactory(group=group, author=admin)
    comment = CommentFactory(discussion=discussion, author=admin)
    return {"group": group, "admin": admin, "discussion": discussion, "comment": comment}


def _get_rules(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith(("/static", "/s/")):
            yield rule.rule


@pytest.mark.parametrize("signed_in", [False, True], ids=["signed-out", "admin"])
def test_no_get_route_answers_500_whatever_the_values(client, world, signed_in):
    if signed_in:
        sign_in(client, world["admin"])
    real = {"handle": "garden", "discussion_id": str(world["discussion"].id), "comment_id": str(world["comment"].id),
            "id": str(world["discussion"].id), "poll_id": "1", "user_id": str(world["admin"].id)}
    failures = []
    for rule in _get_rules(client.application):
        urls = {_fill(rule, real)} | {_fill(rule, {k: odd for k in real} | {"token": odd, "link": odd, "path": odd,
                                                                          "filename": odd, "hashed_name": odd})
                                       for odd in ODD_VALUES}
        for url in urls:
            for query in ("", "?page=abc&q=%FF&reply=x&next=//evil.example&type=nope"):
                response = client.get(url + query)
                # /healthz answers 503 by contract while a part is down (no SMTP server, worker or scheduler here).
                if url == "/healthz" and response.status_code == 503 and response.get_json()["down"]:
                    continue
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} GET {url}{query}")
    assert not failures, "\n".join(failures)


def test_posting_garbage_to_every_form_never_answers_500(client, world):
    sign_in(client, world["admin"])
    real = {"handle": "garden", "discussion_id": str(world["discussion"].id), "comment_id": str(world["comment"].id),
            "id": str(world["discussion"].id), "user_id": str(world["admin"].id)}
    garbage = {"body": "\x00" * 10 + "🙂" * 50, "title": "", "name": "x" * 5000, "email": "not-an-email",
               "privacy": "nope", "role": "king", "closing_at": "yesterday", "poll_type": "nope", "emoji": "💩",
               "group_id": "abc", "parent_id": "-5", "code": "abc", "choice": "x", "reason": "y" * 100_000}
    failures = []
    for rule in client.application.url_map.iter_rules():
        if "POST" not in rule.methods or "one-click" in rule.rule or rule.rule.startswith("/logout"):
            continue
        url = _fill(rule.rule, real)
        response = post(client, url, garbage)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} POST {url}")
        sign_in(client, world["admin"])  # some forms (delete account, sign out everywhere) end the session
    assert not failures, "\n".join(failures)
