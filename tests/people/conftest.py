"""A closed club with a subgroup, one thread, and people in every relation to it."""
from __future__ import annotations

import pytest

from app.services import discussions
from tests.factories import GroupFactory, MembershipFactory, UserFactory, member


class Club:
    """Closed "club" (Ann admin, Bob and Cleo members), subgroup "garden" (Cleo, who is in the club
    too, and Gus, who is only in the garden), Ann's thread, and Olga from outside."""

    def __init__(self, privacy: str = "closed"):
        self.group = GroupFactory(handle="club", name="Club", privacy=privacy)
        self.garden = GroupFactory(handle="garden", name="Garden", privacy="closed", parent_id=self.group.id)
        self.ann = member(self.group, role="admin", name="Ann Admin", email="ann@example.org")
        self.bob = member(self.group, name="Bob Member", email="bob@example.org")
        self.cleo = member(self.group, name="Cleo Both", email="cleo@example.org")
        MembershipFactory(group=self.garden, user=self.cleo)
        self.gus = member(self.garden, name="Gus Gardenonly", email="gus@example.org")
        self.olga = UserFactory(name="Olga Outsider", email="olga@example.org")
        self.thread = discussions.start_thread(actor_id=self.ann.id, group_id=self.group.id, title="Budget 2027",
                                               body="Here is the draft budget.")
        self.other = discussions.start_thread(actor_id=self.ann.id, group_id=self.group.id, title="Secret plans",
                                              body="Nothing for guests here.")


@pytest.fixture
def club(clean_app, outbox) -> Club:
    scene = Club()
    outbox.clear()
    return scene
