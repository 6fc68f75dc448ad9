"""Right-to-left readiness: `dir` follows the language, and the stylesheet says start and end, never
left and right, so adding Arabic or Hebrew needs only a catalog."""
from __future__ import annotations

import re
from pathlib import Path

from flask_babel import force_locale

from app import i18n

STYLESHEET = Path(__file__).resolve().parents[2] / "static" / "quorum.css"


def test_the_stylesheet_uses_logical_properties_only():
    css = STYLESHEET.read_text()
    physical = re.findall(r"(?:margin|padding|border)-(?:left|right)\b|text-align:\s*(?:left|right)|float:\s*(?:left|right)"
                          r"|(?<![\w-])(?:left|right)\s*:", css)
    assert physical == []


def test_dir_follows_the_language(clean_app):
    with clean_app.test_request_context("/"):
        with force_locale("de"):
            assert i18n.text_direction() == "ltr"
        with force_locale("ar"):
            assert i18n.text_direction() == "rtl"
        with force_locale("he"):
            assert i18n.text_direction() == "rtl"


def test_every_page_says_its_language_and_direction(client, db_session):
    response = client.get("/", headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.5"})
    assert b'<html lang="fr" dir="ltr">' in response.data
