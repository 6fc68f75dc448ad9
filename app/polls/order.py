"""The order a viewer sees a poll's options in, and the options' own numbers.

A poll that shuffles its options shows each viewer an order of their own, stable across the page and
every mail (sorted by a hash of poll, viewer and option, so an added option moves no other). An
option keeps its own number (its place in the poll's order) everywhere: a mail lists "3. Pears" first
if that is this reader's order, and a reply's numbers mean the options the reader saw.
"""

from __future__ import annotations

import hashlib

from .base import ordered_options, setting


def option_numbers(p) -> dict[int, int]:
    """Option id → its own number, what replies use in every reader's mail."""
    return {o.id: n for n, o in enumerate(ordered_options(p), 1)}


def options_for(p, viewer_id: int | None) -> list:
    """The options in the order this viewer sees them: their own stable shuffle, or the poll's order."""
    options = ordered_options(p)
    if not setting(p, "shuffle_options", False) or viewer_id is None:
        return options

    def rank(option) -> bytes:
        return hashlib.sha256(f"quorum-shuffle:{p.id}:{viewer_id}:{option.id}".encode()).digest()

    return sorted(options, key=rank)
