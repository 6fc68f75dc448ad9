"""FlaskBB beside Quorum's thread pages, page weight and web memory.

FlaskBB 2.2.0 is the version the review measured; its package declares Requires-Python >= 3.12, and 2.0.2
(the last release for older Pythons) pins 2018 packages whose builds fail on 3.11. The bench asks pip for
the pinned version in FlaskBB's own venv and, if pip cannot install it on this interpreter, reports pip's
reason as the peer's rows. The seeding (a forum, users, topics of 50 and 200 posts) and the signed-in
topic-page load are not written yet: there was no Python >= 3.12 here to run them on.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

from .scratch import PeerUnavailable, ensure_venv

PINS = ["flaskbb==2.2.0", "gunicorn"]


def why_not_installed(error: PeerUnavailable) -> str:
    """pip's reason in a line: a Requires-Python mismatch names the interpreter it needs."""
    text = str(error)
    needs = re.search(r"2\.2\.0 Requires-Python ([^;]+)", text)
    if needs:
        return (f"FlaskBB {PINS[0].split('==')[1]} requires Python {needs.group(1).strip()}; "
                f"this is Python {sys.version.split()[0]}")
    return text


def measure(root: Path, run_dir: Path, args, say=print) -> dict:
    try:
        ensure_venv(root, "flaskbb", PINS, say=say)
    except PeerUnavailable as error:
        return {"available": False, "why": why_not_installed(error)}
    return {"available": False, "why": "FlaskBB installed, but the bench's FlaskBB seeding and topic-page load "
                                       "are not written yet (issue 24)"}
