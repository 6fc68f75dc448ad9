"""Shared helpers for reading a vote written in an email reply (PRODUCT.md §9).

Everything here is forgiving on form (case, whitespace, smart quotes, stray
punctuation, "#2", unique prefixes) and strict on meaning: anything that could
be read two ways raises `VoteError` naming the candidates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from ..i18n import _
from .errors import VoteError

# Mail clients "helpfully" substitute typographic characters; fold them back.
_FOLD = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-",
        "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
        "\u00ad": None,
    }
)

# Characters that may wrap a token without changing what it means ("Agree.", '"2"', *Yes*).
_EDGE = " \t\"'`*_.,;:!?()[]{}<>"
_BULLET = re.compile(r"^(?:[-*+\u2022>]\s+)+")
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"^(?:#\s*|no\.\s*|number\s+|option\s+|choice\s+|slot\s+)?(\d{1,6})[.)]?$")
_ORDINAL = re.compile(r"^\d{1,3}(?:st|nd|rd|th)\b\s*[:.)-]?\s*")


def normalise_text(text: str | None) -> str:
    """Return `text` with Unicode compatibility forms, smart quotes and odd spaces folded, `\\n` line ends."""
    text = unicodedata.normalize("NFKC", text or "").translate(_FOLD)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n"))


def split_first_line(text: str) -> tuple[str, str | None]:
    """Split into the first non-empty line (stripped) and the rest (stripped, or None if blank)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            rest = "\n".join(lines[i + 1 :]).strip()
            return line.strip(), rest or None
    return "", None


def join_reason(*parts: str | None) -> str | None:
    """Join the non-empty reason fragments with blank lines; None if nothing is left."""
    kept = [p.strip() for p in parts if p and p.strip()]
    return "\n\n".join(kept) or None


def key(text: str) -> str:
    """The comparison form of an option name or a typed token: trimmed, de-bulleted, casefolded."""
    text = _BULLET.sub("", text.strip())
    text = text.strip(_EDGE)
    return _SPACES.sub(" ", text).casefold()


def no_such_number(n: int, count: int, what: str = "option") -> str:
    """A number beyond the list: "There is no option 5; the options are numbered 1 to 3." ("slot": a meeting's)."""
    if what == "slot":
        if count == 1:
            return _("There is no slot %(number)s; the only slot is 1.", number=n)
        return _("There is no slot %(number)s; the slots are numbered 1 to %(count)s.", number=n, count=count)
    if count == 1:
        return _("There is no option %(number)s; the only option is 1.", number=n)
    return _("There is no option %(number)s; the options are numbered 1 to %(count)s.", number=n, count=count)


def parse_number(token: str) -> int | None:
    """Return the option number a token spells ("2", "#2", "2.", "option 2"), else None."""
    m = _NUMBER.match(key(token))
    return int(m.group(1)) if m else None


def parse_int(token: str) -> int | None:
    """Return a (possibly negative) whole number written as `token`, allowing "4/5" style; else None."""
    m = re.fullmatch(r"\s*([+-]?\d{1,6})(?:\s*/\s*\d{1,6})?\s*[.!]?\s*", token)
    return int(m.group(1)) if m else None


def strip_ordinal(token: str) -> str:
    """Drop a leading "1st"/"2nd " so confirmation text pasted back ("1st Carrot") still reads."""
    return _ORDINAL.sub("", token.strip(), count=1)


def ordinal(n: int) -> str:
    """1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def quote(text: str) -> str:
    """Quote what the member wrote, shortened so an error reply stays readable."""
    text = " ".join(text.split())
    return f"\u201c{text[:60]}\u2026\u201d" if len(text) > 60 else f"\u201c{text}\u201d"


def or_list(names: list[str]) -> str:
    """["A", "B", "C"] → "A, B or C"."""
    if len(names) == 1:
        return names[0]
    return _("%(names)s or %(last)s", names=", ".join(names[:-1]), last=names[-1])


@dataclass(frozen=True)
class Piece:
    """A stretch of a line between separators, with its position so neighbours can be re-joined."""

    text: str
    start: int
    end: int


def split_pieces(line: str, separators: str) -> list[Piece]:
    """Split `line` at the regex `separators`, keeping each non-blank piece's span in `line`."""
    pieces, pos = [], 0
    for m in re.finditer(separators, line):
        pieces.append(Piece(line[pos : m.start()], pos, m.start()))
        pos = m.end()
    pieces.append(Piece(line[pos:], pos, len(line)))
    return [p for p in pieces if p.text.strip(_EDGE + "-")]


class OptionMatcher:
    """Resolves what a member typed to one of a poll's options, by number, name or unique prefix."""

    def __init__(self, options, synonyms: dict[str, tuple[str, ...]] | None = None):
        self.options = list(options)
        self._keys = [(key(o.name), o) for o in self.options]
        # Synonyms apply only to options that still carry their default name.
        self._synonyms = {}
        for name, words in (synonyms or {}).items():
            for k, o in self._keys:
                if k == name:
                    self._synonyms.update({w: o for w in words})

    def number_of(self, option) -> int:
        """The 1-based number this option is shown with."""
        return self.options.index(option) + 1

    def is_name(self, token: str) -> bool:
        """True if `token` is exactly an option's name (used to re-join names that contain separators)."""
        t = key(token)
        return any(k == t for k, _ in self._keys)

    def resolve(self, token: str):
        """Return the option `token` names, or raise VoteError saying why it can't be read."""
        t = key(token)
        if not t:
            raise VoteError(_("Part of your vote is empty; please write an option name or number."))
        n = parse_number(t)
        if n is not None:
            if 1 <= n <= len(self.options):
                return self.options[n - 1]
            raise VoteError(no_such_number(n, len(self.options)))
        exact = [o for k, o in self._keys if k == t]
        if len(exact) == 1:
            return exact[0]
        if t in self._synonyms:
            return self._synonyms[t]
        starts = [o for k, o in self._keys if k.startswith(t)]
        if len(starts) == 1:
            return starts[0]
        if len(starts) > 1 or len(exact) > 1:
            names = [f"\u201c{o.name}\u201d ({self.number_of(o)})" for o in (exact or starts)]
            raise VoteError(_("%(token)s could mean %(names)s; please write the full name or the number.",
                              token=quote(token), names=or_list(names)))
        raise VoteError(_("%(token)s isn't one of the options.", token=quote(token)))

    def resolve_list(self, line: str, separators: str) -> list:
        """Resolve a separated list of options, re-joining neighbours whose text is one option's name.

        An option called "Salt, pepper" still reads, because the longest run of
        pieces that is exactly a name wins before pieces are read one by one.
        """
        pieces = split_pieces(line, separators)
        chosen, i = [], 0
        while i < len(pieces):
            for j in range(len(pieces) - 1, i, -1):
                joined = line[pieces[i].start : pieces[j].end]
                if self.is_name(joined):
                    chosen.append(self.resolve(joined))
                    i = j + 1
                    break
            else:
                text = pieces[i].text
                chosen.append(self.resolve(text if self.is_name(text) else strip_ordinal(text)))
                i += 1
        return chosen


# "Option = 4", "Option: 4", "Option 4/5"; the value is the last number, so names may contain ':' or '='.
_PAIR = re.compile(r"^(?P<name>.+?)(?:\s*[=:-]\s*|\s+)(?P<value>[+-]?\d{1,6}(?:\s*/\s*\d{1,6})?)\s*(?:dots?|points?)?[.!]?$", re.I)


def parse_pairs(line: str, matcher: OptionMatcher) -> list[tuple[object, int]] | None:
    """Read `A=4, B: 2` into [(option, 4), (option, 2)].

    Returns None when the line isn't written as pairs at all (so it may be a
    reason); raises VoteError when it is but an option can't be resolved.
    """
    pieces = split_pieces(line, r"[,;]")
    matches = [_PAIR.match(p.text.strip().strip("\"'`*_")) for p in pieces]
    # A piece that is exactly an option's name ("Plan 9") is a name without a value, not a pair.
    if not pieces or not all(matches) or any(matcher.is_name(p.text) for p in pieces):
        return None
    return [(matcher.resolve(m.group("name")), parse_int(m.group("value"))) for m in matches]


def read_scored_lines(text: str, matcher: OptionMatcher, what: str) -> tuple[list[tuple[object, int]], str | None]:
    """Read `A=4, B=2` or one `Option: n` per line; other lines form the reason (`what`: "dots" or "scores").

    The first non-empty line must be scores. A bare list of numbers as long as
    the option list ("4, 2, 5") scores the options in the order shown.
    """
    first, _rest = split_first_line(text)
    if not first:
        raise VoteError(_("Your reply is empty, so there was no vote to read."))
    numbers = [parse_int(t) for t in re.split(r"[,;\s]+", first.strip(_EDGE)) if t]
    if numbers and None not in numbers and len(numbers) == len(matcher.options) > 1:
        reason_lines = text.strip().split("\n")[1:]
        return list(zip(matcher.options, numbers)), "\n".join(reason_lines).strip() or None
    pairs = parse_pairs(first, matcher)
    if pairs is None:
        raise VoteError(_("Couldn't read %(line)s as dots.", line=quote(first)) if what == "dots"
                        else _("Couldn't read %(line)s as scores.", line=quote(first)))
    seen_first = False
    reason_lines: list[str] = []
    for line in text.split("\n"):
        if not seen_first:
            seen_first = bool(line.strip())
            continue
        try:
            more = parse_pairs(line, matcher) if line.strip() else None
        except VoteError:
            more = None  # looks like "Label: 5" but names no option: keep it as reason text
        if more is None:
            reason_lines.append(line)
        else:
            pairs += more
    return pairs, "\n".join(reason_lines).strip() or None


def pairs_to_choices(pairs: list[tuple[object, int]], what: str) -> dict[int, int]:
    """Turn [(option, n)] into {option.id: n}, refusing an option given twice (`what`: "dots" or "scores")."""
    choices: dict[int, int] = {}
    for option, value in pairs:
        if option.id in choices:
            raise VoteError(_("You gave dots to “%(option)s” more than once.", option=option.name) if what == "dots"
                            else _("You scored “%(option)s” more than once.", option=option.name))
        choices[option.id] = value
    return choices


def spaced_numbers(line: str) -> str | None:
    """"3 1 2" → "3,1,2" (numbers separated only by spaces), else None."""
    if re.fullmatch(r"(?:#?\d+[.)]?\s+)+#?\d+[.)]?", line.strip()):
        return ",".join(line.split())
    return None
