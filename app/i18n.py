"""Languages: which one a page or a mail is in, the translation calls, dates in the reader's words,
and the words members may write in a reply in any shipped language (docs/TRANSLATING.md).

Catalogs are gettext files under app/translations/<locale>/LC_MESSAGES/messages.po, extracted with
`make messages`. The .mo files are built from them (`make catalogs`, and on start-up when one is
missing or older than its .po), so a fresh clone runs without a build step.

Which language:
- a page: the member's own setting; else, for a member who never chose, their first group's default;
  else the browser's Accept-Language; else DEFAULT_LOCALE;
- a mail: always the recipient's: their setting, else the default of the group the mail is about (or
  of their first group), else DEFAULT_LOCALE; a mail to an address with no account (an invitation)
  takes the inviting group's default;
- the CLI: DEFAULT_LOCALE (operators read English unless they set it).
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime, format_skeleton
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_babel import ngettext as _n
from flask_babel import pgettext as _p

__all__ = ["LOCALES", "_", "_l", "_lp", "_n", "_p", "init_app", "locale_for", "in_locale", "current_locale",
           "text_direction", "localized_time", "number", "reply_words", "option_label"]

log = logging.getLogger(__name__)

# The languages members may choose, each named in itself (a name is never translated).
LOCALES = {"en": "English", "de": "Deutsch", "fr": "Français", "es": "Español", "nl": "Nederlands",
           "pt": "Português"}
DEFAULT = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"


def init_app(app: Flask) -> None:
    app.config.setdefault("DEFAULT_LOCALE", DEFAULT)
    if app.config["DEFAULT_LOCALE"] not in LOCALES:
        raise ValueError(f"DEFAULT_LOCALE={app.config['DEFAULT_LOCALE']!r}: use one of {', '.join(LOCALES)}")
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["DEFAULT_LOCALE"]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(compiled_catalogs(app))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks: one line per message, as extracted
    app.jinja_env.globals.update(current_locale=current_locale, text_direction=text_direction,
                                 option_label=option_label, reply_word=reply_word, _p=_p)
    app.jinja_env.filters.update(number=number)


# --- Which language ---------------------------------------------------------------------------------

def select_locale() -> str:
    """Flask-Babel asks once per request (or app context) unless a mail forced the recipient's."""
    if has_app_context() and g.get("_quorum_speaks"):
        return g._quorum_speaks
    if has_request_context():
        from flask_login import current_user

        user = current_user if getattr(current_user, "is_authenticated", False) else None
        if user is not None and user.locale in LOCALES:
            return user.locale
        group_default = _first_group_default(user) if user is not None else None
        if group_default:
            return group_default
        best = request.accept_languages.best_match(LOCALES)
        if best:
            return best
    return current_app.config.get("DEFAULT_LOCALE", DEFAULT)


def speak_to(user, group=None) -> None:
    """From here on this app context writes in `user`'s language: a job answering a member's mail, once
    it knows who wrote (its refusals, confirmations and explanations then read in the member's language)."""
    g._quorum_speaks = locale_for(user, group) if user is not None or group is not None else None
    refresh()


def locale_for(user=None, group=None) -> str:
    """The language of a mail to `user` (None: an address without an account) about `group`."""
    if user is not None and getattr(user, "locale", None) in LOCALES:
        return user.locale
    for candidate in (getattr(group, "locale", None), _first_group_default(user) if user is not None else None):
        if candidate in LOCALES:
            return candidate
    return current_app.config.get("DEFAULT_LOCALE", DEFAULT)


def locales_for(users, group=None) -> dict[int, str]:
    """{user id: language} for many recipients in one query (fan-out and digests render by language)."""
    chosen = {u.id: u.locale for u in users if getattr(u, "locale", None) in LOCALES}
    fallback = getattr(group, "locale", None) if getattr(group, "locale", None) in LOCALES else None
    rest = [u.id for u in users if u.id not in chosen]
    found: dict[int, str] = {}
    if rest and fallback is None:
        from sqlalchemy import select

        from .extensions import db
        from .models import Group, Membership

        for start in range(0, len(rest), 500):
            rows = db.session.execute(
                select(Membership.user_id, Group.locale).join(Group, Group.id == Membership.group_id)
                .where(Membership.user_id.in_(rest[start:start + 500]), Group.locale.is_not(None), Group.locale != "")
                .order_by(Membership.id))
            for user_id, code in rows:
                if code in LOCALES:
                    found.setdefault(user_id, code)
    default = current_app.config.get("DEFAULT_LOCALE", DEFAULT)
    return {u.id: chosen.get(u.id) or fallback or found.get(u.id) or default for u in users}


def by_language(items, language_of):
    """`items` in runs of one language each: [(code, [item, …]), …], so each run renders in one locale."""
    runs: dict[str, list] = {}
    for item in items:
        runs.setdefault(language_of(item), []).append(item)
    return list(runs.items())


# Pages get it with the signed-in member (services/sessions.member_of); elsewhere (a mail to one member)
# the answer is kept a minute per process (a group admin's new default reaches this process at once,
# other processes within GROUP_DEFAULT_TTL).
GROUP_DEFAULT_TTL = 60.0
_group_defaults: dict[int, tuple[float, str | None]] = {}


def forget_group_defaults() -> None:
    """A group's default language changed (or the test database was emptied)."""
    _group_defaults.clear()


def _first_group_default(user) -> str | None:
    """The default language of the member's oldest group that set one (for members who never chose)."""
    if user is None or not getattr(user, "id", None):
        return None
    if "first_group_locale" in vars(user):  # brought with the member by the session's query
        return user.first_group_locale if user.first_group_locale in LOCALES else None
    now = time.monotonic()
    kept = _group_defaults.get(user.id)
    if kept is not None and now - kept[0] < GROUP_DEFAULT_TTL:
        return kept[1]
    from sqlalchemy import select

    from .extensions import db
    from .models import Group, Membership

    found = db.session.scalar(
        select(Group.locale).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id, Group.locale.is_not(None), Group.locale != "")
        .order_by(Membership.id).limit(1))
    if len(_group_defaults) > 50_000:
        _group_defaults.clear()
    _group_defaults[user.id] = (now, found if found in LOCALES else None)
    return _group_defaults[user.id][1]


@contextmanager
def in_locale(code: str | None):
    """Render what follows (a mail, a reply) in `code`: `with in_locale(locale_for(user, group)): …`."""
    with force_locale(code if code in LOCALES else current_app.config.get("DEFAULT_LOCALE", DEFAULT)):
        yield


def current_locale() -> str:
    locale = get_locale()
    return str(locale.language) if locale is not None else DEFAULT


def text_direction() -> str:
    """ "rtl" for a right-to-left language, for `<html dir>` (the stylesheet uses logical properties)."""
    locale = get_locale()
    return "rtl" if locale is not None and locale.character_order == "right-to-left" else "ltr"


# --- Dates and numbers --------------------------------------------------------------------------------
# Each strftime layout Quorum used maps to a CLDR skeleton, so every language writes it its own way
# ("3 Dec 2026, 10:22", "3. Dez. 2026, 10:22", "3 déc. 2026, 10:22"); English keeps its exact layout.
_LAYOUTS = {
    "%-d %b %Y, %H:%M": ("d MMM y, HH:mm", "yMMMdHm"),
    "%a %-d %b %Y, %H:%M": ("EEE d MMM y, HH:mm", "yMMMEdHm"),
    "%a %-d %b, %H:%M": ("EEE d MMM, HH:mm", "MMMEdHm"),
    "%-d %B %Y, %H:%M": ("d MMMM y, HH:mm", "yMMMMdHm"),
    "%A %-d %B %Y": ("EEEE d MMMM y", "yMMMMEEEEd"),
    "%-d %b %Y": ("d MMM y", "yMMMd"),
    "%d %b %Y": ("d MMM y", "yMMMd"),
    "%H:%M": ("HH:mm", "Hm"),
}


def localized_time(value: datetime, tz, layout: str = "%-d %b %Y, %H:%M") -> str:
    """`value` in the zone `tz`, laid out as `layout` says, in the current language."""
    english, skeleton = _LAYOUTS[layout]
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(tz)
    code = current_locale()
    if code == "en":
        return format_datetime(local, english, tzinfo=tz, locale="en")
    return _by_skeleton(skeleton, local, tz, code)


def _by_skeleton(skeleton: str, local: datetime, tz, code: str) -> str:
    """CLDR lists date skeletons and time skeletons, seldom the two together: write each part by its own
    skeleton and join them the way the language joins a date and a time ("{1}, {0}", "{1} à {0}")."""
    date_part = "".join(c for c in skeleton if c not in "Hm")
    time_part = "".join(c for c in skeleton if c in "Hm")
    if not date_part or not time_part:
        return format_skeleton(skeleton, local, tzinfo=tz, locale=code)
    date = format_skeleton(date_part, local, tzinfo=tz, locale=code)
    time_text = format_skeleton(time_part, local, tzinfo=tz, locale=code)
    joined = str(Locale.parse(code).datetime_formats.get("medium", "{1}, {0}"))
    return joined.replace("{1}", date).replace("{0}", time_text)


def number(value) -> str:
    """A number written as the reader's language writes it (1,234.5 / 1.234,5)."""
    return format_decimal(value, locale=current_locale())


# --- Words a member may write in a reply ----------------------------------------------------------------
# A reply word is a catalog entry in the context "reply word": its msgid is the English word and its
# translation lists that language's words, the first one shown in mail, separated by "|":
#   msgctxt "reply word"  msgid "agree"  msgstr "zustimmen|dafür|einverstanden"
# Every shipped language's words are understood from everyone (a member may write in any of them).
REPLY_WORD = "reply word"


def reply_word(english: str) -> str:
    """The word to show a reader for `english` (their language's first word)."""
    return _p(REPLY_WORD, english).split("|")[0].strip()


def reply_words(english: str) -> tuple[str, ...]:
    """Every spelling of `english` in every shipped language, English first, casefolded."""
    return _all_words(english)


@lru_cache(maxsize=512)
def _all_words(english: str) -> tuple[str, ...]:
    words = [english.casefold()]
    for code in LOCALES:
        if code == "en":
            continue
        translated = _catalog(code).upgettext(REPLY_WORD, english)
        words += [w.strip().casefold() for w in translated.split("|") if w.strip()]
    return tuple(dict.fromkeys(words))


@lru_cache(maxsize=16)
def _catalog(code: str) -> NullTranslations:
    """One language's catalog, outside any request (for reading replies): its .mo when that is fresh,
    else built in memory from the .po (so it never depends on a build step having run)."""
    po = TRANSLATIONS / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    mo = po.with_suffix(".mo")
    if not _is_stale(po, mo):
        with mo.open("rb") as handle:
            return Translations(handle, DOMAIN)
    import io

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, DOMAIN)


# Option names a poll type gives its options by default (entries "option" in the catalog) are shown in
# the reader's language; a name the poll's author typed is shown as typed.
def option_label(name: str) -> str:
    return _p("option", name)  # gettext gives back a name it has no entry for


# --- Catalog files ----------------------------------------------------------------------------------------
_compiled_directory: Path | None = None


def compiled_catalogs(app: Flask) -> Path:
    """The folder Flask-Babel reads .mo files from: app/translations, with any .mo that is missing or
    older than its .po compiled now (into the instance folder when the code folder is read-only)."""
    global _compiled_directory
    target = TRANSLATIONS
    stale = [po for po in TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po") if _is_stale(po, po.with_suffix(".mo"))]
    if stale:
        try:
            for po in stale:
                compile_catalog(po, po.with_suffix(".mo"))
        except OSError:
            target = Path(app.instance_path) / "translations"
            for po in TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
                mo = target / po.relative_to(TRANSLATIONS).with_suffix(".mo")
                if _is_stale(po, mo):
                    mo.parent.mkdir(parents=True, exist_ok=True)
                    compile_catalog(po, mo)
    _compiled_directory = target
    return target


def _is_stale(po: Path, mo: Path) -> bool:
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def compile_catalog(po: Path, mo: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name)
    partial = mo.with_suffix(".mo.tmp")
    with partial.open("wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)
    partial.replace(mo)


def language_name(code: str) -> str:
    """A language's own name ("Deutsch"), for the settings form."""
    return LOCALES.get(code) or Locale.parse(code).get_display_name(code)
