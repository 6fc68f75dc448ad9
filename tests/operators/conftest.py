"""The Garden group (from the email tests) and a site admin, for the operator tests."""
from __future__ import annotations

import pytest

from tests.email_actions.conftest import Members
from tests.factories import UserFactory


@pytest.fixture
def garden(clean_app, dns) -> Members:
    return Members()


@pytest.fixture
def site_admin(clean_app):
    return UserFactory(email="root@example.org", name="Root", is_site_admin=True)


@pytest.fixture
def config(clean_app):
    """Change app settings for one test; restored afterwards."""
    saved = dict(clean_app.config)
    yield clean_app.config
    clean_app.config.clear()
    clean_app.config.update(saved)
