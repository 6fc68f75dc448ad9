"""A new member can find open groups: a directory of them at /groups, for anyone, with closed,
secret, archived and opted-out groups never in it, and its query count flat as groups grow."""
from __future__ import annotations

from app.extensions import db
from app.models import utcnow
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import post, sign_in


def _titles(client) -> str:
    return client.get("/groups").get_data(as_text=True)


def test_the_directory_lists_open_groups_only_and_honours_the_opt_out(client, clean_app):
    GroupFactory(name="Seed swap", handle="seeds", privacy="open", description="Bring what you have.")
    GroupFactory(name="Board", handle="board", privacy="closed")
    GroupFactory(name="Hidden circle", handle="hidden", privacy="secret")
    GroupFactory(name="Old allotment", handle="old", privacy="open", archived_at=utcnow())
    quiet = GroupFactory(name="Quiet corner", handle="quiet", privacy="open")
    admin = member(quiet, role="admin", email="admin@example.org")
    page = _titles(client)  # signed out: open groups are public
    assert "Seed swap" in page and "Bring what you have." in page and "Quiet corner" in page
    assert not any(name in page for name in ("Board", "Hidden circle", "Old allotment"))

    # The admins of "Quiet corner" leave it out of the directory in its settings.
    sign_in(client, admin)
    settings = client.get("/g/quiet/settings").get_data(as_text=True)
    assert "List this group in the directory of open groups" in settings
    form = {"name": "Quiet corner", "description": "", "privacy": "open", "members_can_start_threads": "on"}
    assert post(client, "/g/quiet/settings", form).status_code == 303
    assert "Quiet corner" not in _titles(client) and "Seed swap" in _titles(client)


def test_a_new_member_finds_the_directory_from_the_dashboard_and_joins(client, clean_app):
    GroupFactory(name="Seed swap", handle="seeds", privacy="open")
    newcomer = UserFactory(email="new@example.org")
    sign_in(client, newcomer)
    dashboard = client.get("/").get_data(as_text=True)
    assert 'href="/groups"' in dashboard and "find an open group to join" in dashboard
    assert "Seed swap" in _titles(client) and "you are a member" not in _titles(client)
    assert post(client, "/g/seeds/join").status_code == 303
    assert "you are a member" in _titles(client)


def test_the_directory_asks_the_same_number_of_queries_for_3_or_30_groups(client, clean_app, count_queries):
    sign_in(client, UserFactory(email="reader@example.org"))

    def queries() -> int:
        with count_queries() as counter:
            assert client.get("/groups").status_code == 200
        return counter.count

    for n in range(3):
        member(GroupFactory(privacy="open"))
    few = queries()
    for n in range(27):
        member(GroupFactory(privacy="open"))
    db.session.commit()
    assert queries() == few
