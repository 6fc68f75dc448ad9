"""Review findings 6 and 9, over every GET route of the URL map (not a URL pattern):
an operator's reads under a support grant are all in the access log, whatever the URL; and no
GET or HEAD request, signed in or not, with valid tokens or not, changes anything."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import AccessLog, Attachment, SupportGrant, utcnow
from app.web.safe_methods import VIEW_BOOKKEEPING
from tests.helpers import sign_in


def _tokens(scene) -> dict[str, str]:
    """Live tokens for every kind of link, so token pages are reached, not just refused."""
    from app.email import links
    from app.services import accounts, memberships

    bea, poll = scene["bea"], scene["open_poll"]
    join = memberships.reset_join_link(actor_id=scene["admin"].id, group_id=scene["group"].id)
    login = accounts.issue_sign_in_link(email="bea@example.org").rsplit("/", 1)[1]
    return {
        "unsubscribe_group": links.make("unsubscribe_group", bea, group_id=scene["group"].id),
        "digest_off": links.make("digest_off", bea),
        "mute_thread": links.make("mute_thread", bea, discussion_id=scene["thread"].id),
        "vote": links.make("vote", bea, poll_id=poll.id, option_id=poll.options[0].id),
        "join": join, "login": login,
    }


def every_get_url(app, scene, tokens, *, handle=None) -> list[str]:
    """One URL per GET rule of the URL map, its arguments taken from the scene."""
    attachment = db.session.scalar(select(Attachment).order_by(Attachment.id))
    ints = {"discussion_id": scene["thread"].id, "comment_id": scene["comment"].id, "poll_id": scene["open_poll"].id,
            "attachment_id": attachment.id, "user_id": scene["bea"].id, "export_id": 1, "inbound_id": 1,
            "grant_id": 1, "invitation_id": 1, "request_id": 1}
    urls = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint in ("static", "static_hashed"):
            continue
        values = {}
        for arg in rule.arguments:
            if arg == "handle":
                values[arg] = handle or scene["group"].handle
            elif arg in ints:
                values[arg] = ints[arg]
            elif arg == "filename":
                values[arg] = attachment.filename
            elif arg == "action":
                values[arg] = "unsubscribe_group" if "one-click" in rule.rule else "mute_thread"
            elif arg in ("token", "link"):
                values[arg] = {"polls.one_click": tokens["vote"], "groups.join_link_page": tokens["join"],
                               "auth.link_page": tokens["login"], "mailactions.one_click": tokens["unsubscribe_group"],
                               "mailactions.one_click_page": tokens["unsubscribe_group"],
                               "mailactions.one_click_action_page": tokens["digest_off"],
                               "mailactions.one_click_action": tokens["digest_off"],
                               }.get(rule.endpoint, tokens["mute_thread"])
            else:
                values[arg] = "x"
        with app.test_request_context():
            from flask import url_for

            urls.append(url_for(rule.endpoint, **values))
    urls.append("/search?q=roof")
    return urls


def snapshot() -> dict[str, str]:
    """A fingerprint of every table's rows (those that record reading aside)."""
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name in VIEW_BOOKKEEPING:
            continue
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        out[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


@pytest.mark.parametrize("who", ["signed_out", "bea", "admin", "operator"])
def test_no_get_or_head_request_changes_anything(rich_group, clean_app, who):
    tokens = _tokens(rich_group)
    db.session.add(SupportGrant(group_id=rich_group["group"].id, operator_id=rich_group["operator"].id,
                                granted_by_id=rich_group["admin"].id, reason="r", expires_at=utcnow() + timedelta(days=1)))
    db.session.commit()
    urls = every_get_url(clean_app, rich_group, tokens)
    assert any("/m/one-click/" in url for url in urls) and any("/vote/" in url for url in urls)
    client = clean_app.test_client()
    if who != "signed_out":
        sign_in(client, rich_group[who])
    db.session.expire_all()
    before = snapshot()
    for url in urls:
        for method in ("GET", "HEAD"):
            response = client.open(url, method=method)
            # /healthz answers 503 by contract while a part is down (no SMTP server, worker or scheduler here).
            health = url.partition("?")[0] == "/healthz" and response.status_code == 503
            assert response.status_code < 500 or health, (method, url, response.status_code)
            db.session.expire_all()
            assert snapshot() == before, f"{method} {url} changed state"


def _content_markers(scene) -> list[str]:
    return [scene["thread"].title, scene["comment"].body, scene["open_poll"].title, "minutes of the annual meeting",
            "Compost rota"]


def test_every_read_under_a_grant_is_in_the_access_log(rich_group, clean_app):
    operator = rich_group["operator"]
    grant = SupportGrant(group_id=rich_group["group"].id, operator_id=operator.id, granted_by_id=rich_group["admin"].id,
                         reason="digests", expires_at=utcnow() + timedelta(days=1))
    db.session.add(grant)
    db.session.commit()
    tokens = _tokens(rich_group)
    client = clean_app.test_client()
    sign_in(client, operator)
    urls = every_get_url(clean_app, rich_group, tokens) + every_get_url(clean_app, rich_group, tokens,
                                                                        handle="ALLOTMENTS")
    markers = _content_markers(rich_group)
    showed = []
    for url in urls:
        response = client.get(url)
        body = response.get_data()
        if response.status_code == 200 and any(m.encode() in body for m in markers):
            showed.append(url)
    logged = set(db.session.scalars(select(AccessLog.path).where(AccessLog.grant_id == grant.id)))
    from app.redaction import redact

    assert {"/g/ALLOTMENTS", "/search?q=roof"} <= set(showed)
    assert any(url.startswith("/attachments/") for url in showed) and any(url.startswith("/c/") for url in showed)
    from urllib.parse import unquote

    # A signed link shows what it names to whoever holds it (no grant involved): those are not reads
    # under the grant; everything else that showed the group's content must be logged.
    expected = {unquote(redact(url)) for url in showed if "[token]" not in redact(url)}
    assert expected <= logged, sorted(expected - logged)


def test_a_grant_lets_in_only_the_operator_it_names(rich_group, clean_app):
    other = type(rich_group["operator"])(name="Otto", email="otto@example.org", is_site_admin=True)
    db.session.add(other)
    db.session.add(SupportGrant(group_id=rich_group["group"].id, operator_id=rich_group["operator"].id,
                                granted_by_id=rich_group["admin"].id, reason="r", expires_at=utcnow() + timedelta(days=1)))
    db.session.commit()
    client = clean_app.test_client()
    sign_in(client, other)
    assert client.get(f"/d/{rich_group['thread'].id}").status_code == 404
    sign_in(client, rich_group["operator"])
    assert client.get(f"/d/{rich_group['thread'].id}").status_code == 200
