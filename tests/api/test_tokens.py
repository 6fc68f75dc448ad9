"""Personal access tokens: made on the account page and shown once, stored hashed, read or read and
write, revoked at once; only the bearer header authenticates (a session cookie alone is 401); each
token has its own rate limit; a token never reaches a log."""
from __future__ import annotations

import logging
import re

from app.extensions import db
from app.models import ApiToken
from tests.api.conftest import Api, token_for
from tests.factories import GroupFactory, member
from tests.helpers import post, sign_in


def _group_with_member():
    group = GroupFactory(handle="club", privacy="closed")
    return group, member(group, name="Bea")


def test_a_token_is_made_on_the_account_page_shown_once_and_kept_only_as_a_hash(client, clean_app):
    _, bea = _group_with_member()
    sign_in(client, bea)
    made = post(client, "/account/tokens", {"name": "Calendar sync", "scope": "read"})
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r"Token: <code>(qat_[\w-]+)</code>", made.get_data(as_text=True)).group(1)
    row = db.session.query(ApiToken).one()
    assert row.name == "Calendar sync" and row.scope == "read" and token not in row.token_hash
    page = client.get("/account/tokens").get_data(as_text=True)
    assert "Calendar sync" in page and token not in page  # listed, never shown again
    assert Api(client, token).get("/groups/club").status_code == 200


def test_a_token_needs_a_name(client, clean_app):
    _, bea = _group_with_member()
    sign_in(client, bea)
    got = post(client, "/account/tokens", {"name": " ", "scope": "write"})
    assert got.status_code == 422 and "Please give the token a name" in got.get_data(as_text=True)


def test_a_read_token_refuses_every_write(client, clean_app):
    _, bea = _group_with_member()
    api = Api(client, token_for(bea, "read"))
    assert api.get("/groups/club/threads").status_code == 200
    refused = api.post("/groups/club/threads", {"title": "Not allowed"})
    assert refused.status_code == 403
    assert refused.json["detail"] == "This token may only read. Make a read and write token to change anything."
    assert Api(client, token_for(bea, "write")).post("/groups/club/threads", {"title": "Allowed"}).status_code == 201


def test_a_revoked_token_is_401_at_once(client, clean_app):
    _, bea = _group_with_member()
    token = token_for(bea, "write")
    api = Api(client, token)
    assert api.get("/me").status_code == 200
    sign_in(client, bea)
    row = db.session.query(ApiToken).one()
    assert post(client, f"/account/tokens/{row.id}/revoke").status_code == 303
    client.delete_cookie("session")
    got = Api(client, token).get("/me")
    assert got.status_code == 401 and got.headers["WWW-Authenticate"].startswith("Bearer")
    assert got.json["detail"] == "This token is not valid: it may have been revoked."
    sign_in(client, bea)
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)  # still listed, saying so


def test_someone_elses_token_cannot_be_revoked(client, clean_app):
    _, bea = _group_with_member()
    other = member(GroupFactory(), name="Cy")
    token_for(other)
    sign_in(client, bea)
    row = db.session.query(ApiToken).one()
    assert post(client, f"/account/tokens/{row.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, row.id).revoked_at is None


def test_a_session_cookie_alone_is_401_so_there_is_nothing_to_forge(client, clean_app):
    _, bea = _group_with_member()
    sign_in(client, bea)
    assert client.get("/g/club").status_code == 200  # the cookie works on the pages
    got = client.get("/api/v1/groups/club")
    assert got.status_code == 401 and got.mimetype == "application/problem+json"
    # A cross-site form post carries the cookie and no token: refused, and no CSRF token is asked for.
    forged = client.post("/api/v1/groups/club/threads", json={"title": "Forged"})
    assert forged.status_code == 401


def test_a_wrong_scheme_or_garbage_is_401(client, clean_app):
    for header in ("Basic Zm9vOmJhcg==", "Bearer", "Bearer nonsense", "token qat_x"):
        got = client.get("/api/v1/me", headers={"Authorization": header})
        assert got.status_code == 401, header


def test_each_token_has_its_own_rate_limit(client, clean_app):
    _, bea = _group_with_member()
    clean_app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        first, second = Api(client, token_for(bea, "read")), Api(client, token_for(bea, "read"))
        assert [first.get("/me").status_code for _ in range(3)] == [200, 200, 200]
        limited = first.get("/me")
        assert limited.status_code == 429 and limited.mimetype == "application/problem+json"
        assert int(limited.headers["Retry-After"]) >= 1
        assert second.get("/me").status_code == 200  # another token counts on its own
    finally:
        clean_app.config["API_RATE_LIMIT"] = "300 per minute"


def test_a_token_never_reaches_a_log(client, clean_app, caplog):
    _, bea = _group_with_member()
    token = token_for(bea, "write")
    caplog.set_level(logging.DEBUG)
    api = Api(client, token)
    api.get("/groups/club/threads")
    api.post("/groups/club/threads", {"title": "Logged?"})
    api.post("/groups/club/threads", {"title": ""})  # refused: 422
    Api(client, token + "x").get("/me")  # 401
    clean_app.config["API_RATE_LIMIT"] = "1 per minute"
    try:
        api.get("/me")
        api.get("/me")  # 429
    finally:
        clean_app.config["API_RATE_LIMIT"] = "300 per minute"
    assert caplog.records and token not in caplog.text
    assert token not in str(db.session.query(ApiToken.token_hash).all())


def test_the_web_servers_access_log_never_writes_the_authorization_header():
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from app.weblog import RedactingLogger

    token = "qat_secret-value"
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/api/v1/me", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": "/api/v1/me", "QUERY_STRING": "", "HTTP_AUTHORIZATION": f"Bearer {token}"}
    request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {token}")])
    response = SimpleNamespace(status="200 OK", headers=[], sent=10)
    atoms = RedactingLogger(Config()).atoms(response, request, environ, timedelta(milliseconds=3))
    assert token not in repr(atoms)
    assert atoms["{authorization}i"] == "[token]"
