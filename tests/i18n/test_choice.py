"""Which language a page and a mail are in: the member's setting, else their group's default, else the
browser's Accept-Language (pages) — and a mail always in its recipient's language, whoever acted."""
from __future__ import annotations

import re

from app.extensions import db
from app.services import discussions, groups
from tests.factories import GroupFactory, UserFactory, member
from tests.helpers import sign_in


def _lang(page) -> str:
    return re.search(r'<html lang="([^"]+)"', page.get_data(as_text=True)).group(1)


def test_a_visitor_gets_the_browsers_language_and_english_otherwise(client):
    assert _lang(client.get("/login", headers={"Accept-Language": "nl-BE,nl;q=0.9,en;q=0.5"})) == "nl"
    assert _lang(client.get("/login", headers={"Accept-Language": "ja,ko;q=0.8"})) == "en"
    assert _lang(client.get("/login")) == "en"


def test_the_members_setting_wins_over_the_browser_and_the_group(client):
    group = GroupFactory(handle="garden", locale="es")
    bea = member(group, locale="fr")
    sign_in(client, bea)
    assert _lang(client.get("/g/garden", headers={"Accept-Language": "de"})) == "fr"


def test_a_member_who_never_chose_reads_their_groups_default_at_once_after_it_changes(client):
    group = GroupFactory(handle="garden", locale="es")
    ann = member(group, role="admin")
    cai = member(group)
    sign_in(client, cai)
    headers = {"Accept-Language": "de"}
    assert _lang(client.get("/g/garden", headers=headers)) == "es"
    groups.update_settings(actor_id=ann.id, group_id=group.id, name=group.name, privacy=group.privacy,
                           description=group.description or "", flags={}, locale="pt")
    assert _lang(client.get("/g/garden", headers=headers)) == "pt"
    groups.update_settings(actor_id=ann.id, group_id=group.id, name=group.name, privacy=group.privacy,
                           description=group.description or "", flags={}, locale="")
    assert _lang(client.get("/g/garden", headers=headers)) == "de"  # no default: the browser's


def test_a_member_outside_any_group_with_a_default_gets_the_browsers_language(client):
    sign_in(client, UserFactory())
    assert _lang(client.get("/", headers={"Accept-Language": "pt-BR"})) == "pt"


def test_each_recipient_of_one_comment_gets_it_in_their_own_language(clean_app, outbox):
    group = GroupFactory(handle="garden", name="Garden Club", locale="nl")
    ann = member(group, role="admin", locale="en")
    member(group, email="bea@example.org", locale="de")
    member(group, email="cai@example.org")  # never chose: the group's default
    member(group, email="dov@example.org", locale="fr")
    db.session.commit()
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="Bins?")
    langs = {}
    for mail in outbox.messages():
        found = re.search(r'<html lang="([^"]+)"', mail.html)
        langs[mail.to] = found.group(1) if found else None
    assert langs == {"bea@example.org": "de", "cai@example.org": "nl", "dov@example.org": "fr"}
