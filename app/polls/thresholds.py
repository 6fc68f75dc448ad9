"""Whether a proposal passes: a participation quorum, a share of agree, no blocks.

Pure Python. `requirements(poll, results, electorate)` reads the poll's own settings
(`quorum_percent`, `pass_percent`, `pass_without_blocks`); a poll that sets none has no
requirements, and its results say nothing about passing. Every comparison is in whole
numbers, so "at least 50%" of 10 is met by exactly 5:

    participation  voters * 100 >= quorum_percent * electorate   (and someone voted)
    agree          agree  * 100 >= pass_percent   * voters       (and someone voted)
    no blocks      nobody chose Block (or what the poll's process blocks with: consent's Object)

`agree` is the votes for the option named Agree (else the first option), as a share of
every vote cast, abstentions included.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import _, _n, option_label
from .base import ordered_options, setting
from .grammar import key


@dataclass(frozen=True)
class Requirement:
    """One requirement to pass, and whether the votes so far meet it."""

    name: str  # "participation" | "agree" | "no_blocks"
    needed: str  # what it asks, in words
    actual: str  # where the votes stand, in words
    met: bool


def _percent_text(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "0%"


def _agree_and_block_names(p) -> tuple[str, set[str]]:
    """The option that agrees and those that block: the poll's decision process says (consent's
    Object blocks), a plain proposal has Agree and Block."""
    from .decision_processes import for_poll

    process = for_poll(p)
    if process is None:
        return "agree", {"block"}
    return key(process.agrees), {key(name) for name in process.blocks}


def _agree_option_id(p) -> int | None:
    options = ordered_options(p)
    agrees, _blocks = _agree_and_block_names(p)
    for o in options:
        if key(o.name) == agrees:
            return o.id
    return options[0].id if options else None


def has_requirements(p) -> bool:
    return bool(setting(p, "quorum_percent", 0) or setting(p, "pass_percent", 0) or setting(p, "pass_without_blocks", False))


def requirements(p, results, electorate: int) -> list[Requirement]:
    """The poll's requirements to pass, each with whether `results` (and `electorate` eligible voters) meet it."""
    out: list[Requirement] = []
    voters = results.voter_count
    quorum = setting(p, "quorum_percent", 0)
    if quorum:
        out.append(Requirement(
            "participation",
            _n("at least %(quorum)s%% of the %(num)s eligible voter take part",
               "at least %(quorum)s%% of the %(num)s eligible voters take part", electorate, quorum=quorum),
            _("%(voters)s of %(electorate)s voted (%(percent)s)", voters=voters, electorate=electorate,
              percent=_percent_text(voters, electorate)),
            voters > 0 and voters * 100 >= quorum * electorate))
    share = setting(p, "pass_percent", 0)
    if share:
        agree_id = _agree_option_id(p)
        agree = next((row.voter_count for row in results.options if row.option_id == agree_id), 0)
        name = next((row.name for row in results.options if row.option_id == agree_id), "Agree")
        out.append(Requirement(
            "agree", _("at least %(share)s%% of the votes cast are %(option)s", share=share, option=option_label(name)),
            _n("%(agree)s of %(num)s vote (%(percent)s)", "%(agree)s of %(num)s votes (%(percent)s)", voters,
               agree=agree, percent=_percent_text(agree, voters)),
            voters > 0 and agree * 100 >= share * voters))
    if setting(p, "pass_without_blocks", False):
        _agrees, blocking = _agree_and_block_names(p)
        blocks = sum(row.voter_count for row in results.options if key(row.name) in blocking)
        out.append(Requirement("no_blocks", _("nobody blocks"),
                               _("no blocks") if not blocks else _n("%(num)s block", "%(num)s blocks", blocks), blocks == 0))
    return out


def passes(reqs: list[Requirement]) -> bool:
    return all(r.met for r in reqs)


def verdict(reqs: list[Requirement], *, closed: bool) -> str:
    """One plain sentence on the whole: passed or not (closed), or where it stands (open)."""
    if not reqs:
        return ""
    if closed:
        return _("Passed: every requirement is met.") if passes(reqs) else _("Did not pass: not every requirement is met.")
    return (_("As the votes stand, it would pass: every requirement is met so far.") if passes(reqs) else
            _("As the votes stand, it would not pass: not every requirement is met yet."))


def line(r: Requirement, *, closed: bool) -> str:
    """One requirement as a line of text (mail, CSV): what it needs, where it stands, met or not."""
    state = _("met") if r.met else (_("not met") if closed else _("not met yet"))
    needed = str(r.needed)
    return _("%(needed)s: %(actual)s — %(state)s", needed=needed[:1].upper() + needed[1:], actual=r.actual, state=state)


def check_settings(settings: dict) -> list[str]:
    """Errors in threshold settings, for the creation and edit forms."""
    errors = []
    for name in ("quorum_percent", "pass_percent"):
        value = settings.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100):
            errors.append(_("The participation quorum must be a whole percentage from 0 to 100.") if name == "quorum_percent"
                          else _("The share of agree needed must be a whole percentage from 0 to 100."))
    return errors
