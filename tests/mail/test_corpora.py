"""Real mail from other projects' test corpora, kept in ``tests/corpus/`` (data only, with each
source's licence and provenance), read the way the inbound pipeline reads it.

Each source folder has an ``expected.json``:

* ``messages``: a file (a whole message; a bare ``.html`` file is an HTML-only mail) and what
  Quorum must make of it: its ``kind`` (``human``, ``bounce``, ``complaint``, ``auto_reply``, or
  ``automatic`` for any kind but ``human``), for a reply the ``reply`` text a member would see
  posted (or, where a source states only that much, strings it ``contains`` and ``lacks``), for
  a bounce the failed ``address`` when the source names it;
* ``bodies``: message bodies (inline ``text``, or a ``file``) with the reply that must come out
  of them (``reply``, or ``contains``/``lacks``); where Quorum's rule differs from the source's on
  purpose, ``upstream`` keeps the source's answer and ``note`` says why;
* ``known_limitations``: cases we knowingly get wrong, each with the reason.  A listed case that
  starts passing fails the run too, so the list stays true.

Every message is classified as it would be if it had arrived at a member's reply address with
the envelope sender its From names (the strictest case: no null sender, not our bounce address).
The score per source is printed at the end of the run (``tests/conftest.py``), so a regression
shows which kind of mail broke.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from mail.classify import HUMAN, classify, parse_bytes, sender_address
from mail.mime import extract_reply
from mail.trimming import trim_reply

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SOURCES = sorted(p.parent.name for p in CORPUS.glob("*/expected.json"))
# The bar of the mail-accuracy issue: the whole corpus, known limitations counted as misses.
MINIMUM_SCORE = 0.98


@dataclass(frozen=True)
class Case:
    source: str
    name: str
    expected: dict
    text: str | None = None  # a body case: the text to trim

    @property
    def id(self) -> str:
        return f"{self.source}/{self.name}"


def _expected(source: str) -> dict:
    return json.loads((CORPUS / source / "expected.json").read_text(encoding="utf-8"))


def _cases() -> list[Case]:
    cases: list[Case] = []
    for source in SOURCES:
        data = _expected(source)
        cases += [Case(source, name, expected) for name, expected in data.get("messages", {}).items()]
        cases += [Case(source, body["name"], body, _body_text(source, body)) for body in data.get("bodies", [])]
    return cases


def _body_text(source: str, body: dict) -> str:
    """A body given inline (``text``) or as a file of the source (``file``, read as it is)."""
    if "file" in body:
        return (CORPUS / source / body["file"]).read_bytes().decode("utf-8")
    return body["text"]


CASES = _cases()
KNOWN = {f"{source}/{name}": why for source in SOURCES
         for name, why in _expected(source).get("known_limitations", {}).items()}


def _message(path: Path) -> EmailMessage:
    if path.suffix == ".html":
        msg = EmailMessage()
        msg["From"] = "Alice Example <alice@example.org>"
        msg["Subject"] = "Re: Test"
        msg.set_content(path.read_text(encoding="utf-8"), subtype="html")
        return parse_bytes(msg.as_bytes())
    return parse_bytes(path.read_bytes())


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def check(case: Case) -> list[str]:
    """What is wrong with Quorum's reading of the case ([] when it is right)."""
    expected = case.expected
    if case.text is not None:
        return _reply_problems(trim_reply(case.text), expected)
    msg = _message(CORPUS / case.source / case.name)
    sender = sender_address(msg) or "someone@example.net"
    kind = classify(msg, envelope_from=sender, our_domain="quorum.test", our_message_id_domain="quorum.test",
                    recipients=["r+k7f3@quorum.test"])
    problems = []
    wanted = expected["kind"]
    if (kind.kind == HUMAN) if wanted == "automatic" else (kind.kind != wanted):
        problems.append(f"classified {kind.kind} ({kind.reason})")
    if expected.get("address") and kind.bounce_address not in expected["address"]:
        problems.append(f"failed address {kind.bounce_address!r}")
    if {"reply", "contains", "lacks"} & expected.keys():
        problems += _reply_problems(extract_reply(msg)[0], expected)
    return problems


def _reply_problems(got: str, expected: dict) -> list[str]:
    """The reply must be ``reply`` exactly, or hold each of ``contains`` and none of ``lacks``
    (sources that state only that much)."""
    if "reply" in expected and _normalise(got) != _normalise(expected["reply"]):
        return [f"reply {got!r}"]
    missing = [s for s in expected.get("contains", []) if s not in got]
    kept = [s for s in expected.get("lacks", []) if s in got]
    return [f"reply {got[:300]!r} lacks {missing} / keeps {kept}"] if missing or kept else []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_case(case):
    problems = check(case)
    if case.id in KNOWN:
        assert problems, f"{case.id} now passes: remove it from known_limitations in its expected.json"
        pytest.xfail(f"known limitation: {KNOWN[case.id]}")
    assert not problems, problems


def test_every_known_limitation_names_a_case():
    ids = {c.id for c in CASES}
    assert not [k for k in KNOWN if k not in ids]


def test_every_source_states_its_licence_and_provenance():
    for source in SOURCES:
        folder = CORPUS / source
        assert (folder / "LICENSE").is_file() or (folder / "LICENCE.md").is_file(), source
        assert (folder / "PROVENANCE.md").is_file(), source


def test_the_whole_corpus_scores_at_least_the_bar():
    """Every case read again (they are quick), against the bar for the whole corpus; the score
    per source is printed at the end of the run (tests/conftest.py, pytest_terminal_summary)."""
    passed = sum(not check(case) for case in CASES)
    assert passed / len(CASES) >= MINIMUM_SCORE, f"{passed}/{len(CASES)}"
