"""Every string a person reads is in every shipped language's catalog, translated, with the same
placeholders and markup, and the catalogs match the code (a string changed in the code and not
re-extracted fails here: run `make messages`, then translate what it added)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [code for code in i18n.LOCALES if code != "en"]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "_n": (1, 2),
            "_p": ((1, "c"), 2), "_lp": ((1, "c"), 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
            "lazy_pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%%")
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")


def _method_map():
    methods, options = [], {}
    section = None
    for line in (ROOT / "babel.cfg").read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            method, _, pattern = line[1:-1].partition(":")
            section = pattern.strip()
            methods.append((section, method.strip()))
            options[section] = {}
        elif "=" in line and section and not line.startswith("#"):
            key, _, value = line.partition("=")
            options[section][key.strip()] = value.strip()
    return methods, options


@pytest.fixture(scope="module")
def extracted() -> set[tuple[str | None, str]]:
    methods, options = _method_map()
    found = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
            str(ROOT), methods, options, keywords=KEYWORDS, comment_tags=()):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        found.add((context, msgid))
    return found


def _catalog(code: str):
    with (i18n.TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


def _key(message) -> tuple[str | None, str]:
    msgid = message.id[0] if isinstance(message.id, (tuple, list)) else message.id
    return message.context, msgid


def test_the_code_has_strings_to_translate(extracted):
    assert len(extracted) > 50


def test_the_template_matches_the_code(extracted):
    with (i18n.TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = {_key(m) for m in read_po(handle) if m.id}
    assert not extracted - template, "strings in the code missing from messages.pot (run `make messages`)"
    assert not template - extracted, "strings in messages.pot no longer in the code (run `make messages`)"


@pytest.mark.parametrize("code", SHIPPED)
def test_every_string_is_translated(code, extracted):
    catalog = _catalog(code)
    entries = {_key(m): m for m in catalog if m.id}
    missing = sorted(msgid for key in extracted if key not in entries for msgid in [key[1]])
    assert not missing, f"{code}: {len(missing)} strings not in the catalog (run `make messages`), e.g. {missing[:5]}"
    untranslated = sorted(_key(m)[1] for m in entries.values()
                          if m.fuzzy or not all(s.strip() for s in (m.string if isinstance(m.string, (tuple, list)) else [m.string])))
    assert not untranslated, f"{code}: {len(untranslated)} strings untranslated or fuzzy, e.g. {untranslated[:5]}"


@pytest.mark.parametrize("code", SHIPPED)
def test_translations_keep_placeholders_and_markup(code):
    problems = []
    for message in _catalog(code):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else [message.id]
        strings = message.string if isinstance(message.string, (tuple, list)) else [message.string]
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        wanted_tags = sorted(TAG.findall(ids[0]))
        for text in strings:
            got = set(PLACEHOLDER.findall(text))
            # A plural's singular may say "one" instead of %(num)s; no other placeholder may go or come.
            if got - wanted or (wanted - got) - {"num", "count"}:
                problems.append(f"{ids[0]!r} → {text!r}: placeholders {sorted(wanted)} vs {sorted(got)}")
            if sorted(TAG.findall(text)) != wanted_tags:
                problems.append(f"{ids[0]!r} → {text!r}: markup {wanted_tags} vs {sorted(TAG.findall(text))}")
    assert not problems, f"{code}: " + "\n".join(problems[:20])


def test_reply_words_mean_one_thing_in_every_language():
    """A word a member may write in a reply stands for one English word only (or a reply could be read two
    ways): 'stumm' may not mean both mute and unsubscribe."""
    from app.i18n import REPLY_WORD

    english = sorted({m.id for m in _catalog("de") if m.context == REPLY_WORD})
    assert english, "no reply words in the catalog"
    seen: dict[str, str] = {}
    clashes = []
    for code in SHIPPED:
        for message in _catalog(code):
            if message.context != REPLY_WORD:
                continue
            for word in (w.strip().casefold() for w in message.string.split("|")):
                if word in seen and seen[word] != message.id and not _same_family(seen[word], message.id):
                    clashes.append(f"{code}: {word!r} is both {seen[word]!r} and {message.id!r}")
                seen.setdefault(word, message.id)
    assert not clashes, "\n".join(clashes)


def _same_family(a: str, b: str) -> bool:
    """Words of different poll types may share a spelling (yes = agree in a proposal, in in a count): a poll
    only ever reads its own options' words. Commands never share."""
    from mail.commands import command_words

    commands = set(command_words())
    return a not in commands and b not in commands


def test_every_default_option_name_is_in_the_catalog():
    """An option a poll type names by default is shown in the reader's language, so it needs an entry."""
    from app.polls import POLL_TYPES
    from app.polls.decision_processes import PROCESSES
    from app.polls.labels import OPTION_NAMES

    listed = {entry._args[1] for entry in OPTION_NAMES}
    defaults = {n for kind in POLL_TYPES.values() for n in kind.default_options()}
    defaults |= {n for process in PROCESSES.values() for n in process.option_names()}
    assert defaults - listed == set(), "add them to app/polls/labels.py"
