"""CSV that a spreadsheet opens as data, never as formulas: the one writer every CSV we produce
goes through (poll results, group exports). A text cell starting with = + - @, a tab or a carriage
return is prefixed with an apostrophe (OWASP's advice); numbers stay numbers."""
from __future__ import annotations

import csv
import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def safe_cell(value):
    """The value as a spreadsheet should read it: text that would start a formula is neutralised."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer whose every row is made safe cell by cell."""

    def __init__(self, stream):
        self._writer = csv.writer(stream)

    def writerow(self, row) -> None:
        self._writer.writerow([safe_cell(value) for value in row])
