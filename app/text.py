"""One clean line of text for every name-like field (a person's name, a group's name, a thread's
or poll's title, a poll option, a file name): what goes into a page, a mail header or a file
name must not carry line breaks, control characters or bidirectional overrides (which make
"invoice‮fdp.exe" read as "invoiceexe.pdf")."""
from __future__ import annotations

import unicodedata

# Explicit direction embeddings, overrides and isolates, and the invisible direction marks.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def _is_control(ch: str) -> bool:
    """C0 and C1 control characters and DEL (NUL, ESC, …): Unicode's control category."""
    return ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F


def one_line(value: str | None) -> str:
    """NFC, without control characters or bidi controls, every run of whitespace one space, trimmed."""
    text = unicodedata.normalize("NFC", str(value or ""))
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif ch in BIDI_CONTROLS or _is_control(ch):
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())
