"""With a member's language set to each shipped language, the pages they open and the mails they get hold
no English sentence the catalog knows a translation for. Routes come from the app's URL map (every GET
page with its values filled from a seeded group), not from a list kept beside the templates."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone

import pytest
from babel.messages.pofile import read_po

from app import i18n
from tests.factories import CommentFactory, DiscussionFactory, GroupFactory, member
from tests.helpers import sign_in

SHIPPED = [code for code in i18n.LOCALES if code != "en"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%%|<[^>]+>")
# Pages that answer something other than a page for people (feeds, files, machine formats).
NOT_PAGES = ("/api/", "/feeds/", "/healthz", "/metrics", ".ics", ".csv", ".json", ".xml", ".zip", "/export")


def _english_fragments(code: str) -> dict[str, str]:
    """{English fragment: its msgid} for every entry whose translation differs: the literal stretches
    between placeholders and tags, of two words or more (a lone word may be the same in both)."""
    with (i18n.TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=code)
    fragments = {}
    for message in catalog:
        if not message.id or message.context == i18n.REPLY_WORD:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        translated = " ".join(strings)
        for msgid in ids:
            for piece in PLACEHOLDER.split(html.unescape(msgid)):
                piece = " ".join(piece.split()).strip(" .,:;!?()\"'“”")
                if len(piece) >= 12 and len(piece.split()) >= 2 and piece not in translated:
                    fragments[piece] = msgid
    return fragments


def _visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    attributes = " ".join(m.group(2) for m in re.finditer(r'\b(title|placeholder|aria-label|alt|value)="([^"]*)"', page))
    text = re.sub(r"<[^>]+>", " ", page) + " " + attributes
    return " ".join(html.unescape(text).split())


def _leaks(text: str, fragments: dict[str, str]) -> list[str]:
    return sorted({msgid for piece, msgid in fragments.items() if piece in text})


def _fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values.get(m.group(1), "1"), rule)


@pytest.fixture
def world(db_session):
    from app.services.polls import create_poll

    group = GroupFactory(handle="garten", name="Garten", privacy="closed")
    admin = member(group, role="admin", email="ada@example.org", name="Ada")
    admin.is_site_admin = True
    other = member(group, email="bea@example.org", name="Bea")
    discussion = DiscussionFactory(group=group, author=admin, title="Gartentag", body="Samstag um zehn.")
    comment = CommentFactory(discussion=discussion, author=other, body="Ich bringe Spaten mit.")
    db_session.commit()
    poll = create_poll(actor_id=admin.id, poll_type="proposal", title="Spaten kaufen", discussion_id=discussion.id,
                       closing_at=datetime.now(timezone.utc) + timedelta(days=3))
    return {"group": group, "admin": admin, "other": other, "discussion": discussion, "comment": comment,
            "poll": poll}


def _pages(app):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.rule.startswith(("/static", "/s/")) \
                and not any(part in rule.rule for part in NOT_PAGES):
            yield rule.rule


@pytest.mark.parametrize("code", SHIPPED)
def test_every_page_a_member_opens_is_in_their_language(client, world, db_session, code):
    fragments = _english_fragments(code)
    assert fragments, f"{code}: the catalog translates nothing"
    world["admin"].locale = code
    db_session.commit()
    sign_in(client, world["admin"])
    values = {"handle": "garten", "discussion_id": str(world["discussion"].id), "id": str(world["discussion"].id),
              "comment_id": str(world["comment"].id), "poll_id": str(world["poll"].id),
              "user_id": str(world["other"].id)}
    leaks, seen = {}, 0
    for rule in _pages(client.application):
        url = _fill(rule, values)
        response = client.get(url)
        if response.status_code != 200 or not response.mimetype == "text/html":
            continue
        seen += 1
        assert f'lang="{code}"'.encode() in response.data, url
        found = _leaks(_visible_text(response.get_data(as_text=True)), fragments)
        if found:
            leaks[url] = found
    assert seen > 20, "the walk reached too few pages to mean anything"
    assert not leaks, f"{code}: English left on {len(leaks)} pages:\n" + "\n".join(
        f"{url}: {found[:5]}" for url, found in sorted(leaks.items()))


@pytest.mark.parametrize("code", SHIPPED)
def test_the_mails_a_member_gets_are_in_their_language(world, db_session, outbox, code):
    from app.services.discussions import post_comment

    fragments = _english_fragments(code)
    world["other"].locale = code
    db_session.commit()
    before = len(outbox.to("bea@example.org"))
    post_comment(actor_id=world["admin"].id, discussion_id=world["discussion"].id, body="Bis Samstag!")
    mails = outbox.to("bea@example.org")[before:]
    assert mails, "the comment sent Bea nothing"
    leaks = {}
    for mail in mails:
        found = _leaks(" ".join((mail.subject, mail.text, _visible_text(mail.html or ""))), fragments)
        if found:
            leaks[mail.subject] = found
    assert not leaks, f"{code}: English left in mails:\n" + "\n".join(f"{s}: {f[:5]}" for s, f in leaks.items())


# English words no German sentence has: they find text that was never marked at all (the scan above only
# knows the catalog's entries). The world above writes its own content in German, so any hit is ours.
ENGLISH_WORDS = re.compile(r"\b(the|your|you|and|this|with|are|not|have|has|for|from|been|there|which|when|who)\b",
                           re.IGNORECASE)


def test_a_german_members_pages_hold_no_english_words_even_where_nothing_was_marked(client, world, db_session):
    world["admin"].locale = "de"
    db_session.commit()
    sign_in(client, world["admin"])
    values = {"handle": "garten", "discussion_id": str(world["discussion"].id), "id": str(world["discussion"].id),
              "comment_id": str(world["comment"].id), "poll_id": str(world["poll"].id),
              "user_id": str(world["other"].id)}
    hits = []
    for rule in _pages(client.application):
        url = _fill(rule, values)
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        text = _visible_text(response.get_data(as_text=True))
        hits.extend(f"{url}: …{text[max(0, m.start() - 40):m.end() + 40]}…" for m in ENGLISH_WORDS.finditer(text))
    assert not hits, "\n".join(hits[:20])


def test_a_german_members_mail_holds_no_english_words_even_where_nothing_was_marked(world, db_session, outbox):
    from app.services.discussions import post_comment, start_thread

    world["other"].locale = "de"
    db_session.commit()
    before = len(outbox.to("bea@example.org"))  # the world's own poll mail went out before she chose
    start_thread(actor_id=world["admin"].id, group_id=world["group"].id, title="Beete", body="Wer gießt?")
    post_comment(actor_id=world["admin"].id, discussion_id=world["discussion"].id, body="Bis Samstag!")
    mails = outbox.to("bea@example.org")[before:]
    assert len(mails) >= 2
    hits = []
    for mail in mails:
        text = " ".join((mail.subject, mail.text, _visible_text(mail.html or "")))
        text = re.sub(r"\S+@\S+|https?://\S+", " ", text)  # addresses and links are not sentences
        hits.extend(f"{mail.subject}: …{text[max(0, m.start() - 40):m.end() + 40]}…" for m in ENGLISH_WORDS.finditer(text))
    assert not hits, "\n".join(hits[:20])
