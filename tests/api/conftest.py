"""The API through the test client with real tokens (made by the same service as the account page)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import utcnow


class Api:
    """Requests to /api/v1 as one token's holder: `api.get("/groups")`, `api.post(path, json)`."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def _headers(self, headers=None):
        out = dict(headers or {})
        if self.token:
            out["Authorization"] = f"Bearer {self.token}"
        return out

    def get(self, path: str, **kwargs):
        return self.client.get("/api/v1" + path, headers=self._headers(kwargs.pop("headers", None)), **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.client.post("/api/v1" + path, json=json if json is not None else {},
                                headers=self._headers(kwargs.pop("headers", None)), **kwargs)


def token_for(user, scope: str = "write", name: str = "test") -> str:
    from app.services import api_tokens

    return api_tokens.issue_token(user_id=user.id, name=name, scope=scope)


@pytest.fixture
def api_as(client):
    """`api_as(user, scope="write")`: an Api for a new token of that person (None: no token at all)."""

    def make(user, scope: str = "write") -> Api:
        return Api(client, token_for(user, scope) if user is not None else None)

    return make


def later(days: int = 3) -> str:
    return (utcnow() + timedelta(days=days)).isoformat().replace("+00:00", "Z")


# The live server of the browser tests (the session's app on a loopback port), reused for the contract tests.
from tests.browser.conftest import _server, live_server  # noqa: E402,F401
