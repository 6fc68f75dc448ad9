"""Dates and numbers are written the reader's way, for every layout the pages and mails use."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from app import i18n

MOMENT = datetime(2026, 12, 3, 9, 22, tzinfo=timezone.utc)


@pytest.mark.parametrize("code", list(i18n.LOCALES))
@pytest.mark.parametrize("layout", list(i18n._LAYOUTS))
def test_every_layout_is_written_in_every_language(clean_app, code, layout):
    with i18n.in_locale(code):
        text = i18n.localized_time(MOMENT, ZoneInfo("Europe/Berlin"), layout)
    assert text.strip()
    if "%H" in layout:
        assert "10:22" in text  # in the reader's zone
    if "%Y" in layout:
        assert "2026" in text


def test_german_reads_german_dates_and_english_keeps_its_layout(clean_app):
    zone = ZoneInfo("Europe/Berlin")
    with i18n.in_locale("de"):
        assert i18n.localized_time(MOMENT, zone) == "3. Dez. 2026, 10:22"
        assert i18n.number(1234.5) == "1.234,5"
    with i18n.in_locale("fr"):
        assert i18n.localized_time(MOMENT, zone, "%-d %B %Y, %H:%M") == "3 décembre 2026, 10:22"
    with i18n.in_locale("en"):
        assert i18n.localized_time(MOMENT, zone, "%a %-d %b %Y, %H:%M") == "Thu 3 Dec 2026, 10:22"
        assert i18n.number(1234.5) == "1,234.5"
