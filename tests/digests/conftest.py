"""Digest fixtures: a group where Alice reads by daily digest and Bob writes, and a clock."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import utcnow
from tests.factories import GroupFactory, MembershipFactory, UserFactory


class Scene:
    """A closed group "Garden": Alice gets it in her daily digest (UTC, hour 0), Bob posts."""

    def __init__(self):
        self.group = GroupFactory(handle="garden", name="Garden")
        self.alice = UserFactory(email="alice@example.org", name="Alice", digest_frequency="daily", digest_hour=0)
        self.bob = UserFactory(email="bob@example.org", name="Bob")
        MembershipFactory(group=self.group, user=self.alice, volume="digest")
        MembershipFactory(group=self.group, user=self.bob, role="admin")

    def thread(self, title="Seed swap", body="Bring your spare seeds.\n\nMore details later.", author=None, group=None):
        from app.services.discussions import start_thread

        return start_thread(actor_id=(author or self.bob).id, group_id=(group or self.group).id, title=title, body=body)

    def comment(self, thread, body, author=None):
        from app.services.discussions import post_comment

        return post_comment(actor_id=(author or self.bob).id, discussion_id=thread.id, body=body)


@pytest.fixture
def scene(clean_app) -> Scene:
    return Scene()


@pytest.fixture
def later():
    """An instant a few minutes from now: what was just written has settled. Tests look up to a few
    hours past it within the same daily period, so late in the (UTC) day it is the next day's start."""
    soon = utcnow() + timedelta(minutes=5)
    if (soon + timedelta(hours=4)).date() != soon.date():
        return soon.replace(hour=0, minute=5, second=0, microsecond=0) + timedelta(days=1)
    return soon


def run(now, **kwargs) -> dict:
    from app.services.digests import run_due

    return run_due(now, ignore_hour=True, **kwargs)


def digests_to(outbox, user):
    return [m for m in outbox.to(user.email) if "digest" in m.subject]
