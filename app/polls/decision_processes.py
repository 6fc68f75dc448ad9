"""Decision processes as data: a proposal run as consent, consensus, an advice process or gradients of
agreement is the proposal type with another set of options, each carrying its meaning, and a prompt
for the reason. Nothing switches on a process's name: forms, pages and mails read these fields, and
votes by reply are read by the proposal's grammar (an option's name, a unique start of it, or its number).

    process = get_process("consent")
    process.option_names()      # ["Consent", "Concern", "Object"]
    process.fits(kind)          # may a poll of this type follow it?
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel.speaklater import LazyString

from ..i18n import _, _l


class Phrase(str):
    """A process's own sentence (an option's meaning, the prompt): the English as a plain str value, so it
    compares, searches and is stored as the English, while showing it (str(), a template, an f-string)
    gives the reader's language."""

    def __str__(self) -> str:
        return _(str.__str__(self))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


def english(text) -> str:
    """The English of a catalog string (what is stored: an option's meaning), or `text` itself."""
    if isinstance(text, Phrase):
        return str.__str__(text)
    return text._args[0] if isinstance(text, LazyString) else text


@dataclass(frozen=True)
class ProcessOption:
    name: str
    meaning: str  # a Phrase: the English, shown in the reader's language

    def __post_init__(self):
        object.__setattr__(self, "meaning", Phrase(english(self.meaning)))


@dataclass(frozen=True)
class Process:
    name: str
    label: str
    description: str
    options: tuple[ProcessOption, ...]
    prompt: str  # asked beside the reason, on the page and in mail
    details: str = ""  # the details a new poll of this process starts with (the template's)
    poll_type: str = "proposal"
    title: str = ""  # how a new poll's title starts
    # For a proposal's pass thresholds (app/polls/thresholds.py): the option whose share counts as
    # agreement, and the options that block (an objection under consent, a veto in gradients).
    agrees: str = "Agree"
    blocks: tuple[str, ...] = ("Block",)

    def __post_init__(self):
        object.__setattr__(self, "prompt", Phrase(english(self.prompt)))  # shown in the reader's language

    def option_names(self) -> list[str]:
        return [o.name for o in self.options]

    def meanings(self) -> dict[str, str]:
        """Each option's meaning in English, as a new poll's options store it."""
        return {o.name: english(o.meaning) for o in self.options}

    def meaning_of(self, option) -> str | None:
        """A poll option's meaning for the reader: in their language while it is still this process's
        own (stored in English), else as stored."""
        stored = getattr(option, "meaning", None)
        for o in self.options:
            if o.name == getattr(option, "name", None) and english(o.meaning) == stored:
                return o.meaning
        return stored

    def fits(self, kind) -> bool:
        """Whether a poll of type `kind` (a PollType) can follow this process: its type, with fixed options."""
        return getattr(kind, "name", None) == self.poll_type


PROCESSES: dict[str, Process] = {p.name: p for p in (
    Process(
        name="proposal", label=_l("Proposal"),
        description=_l("Propose a decision and see who agrees, abstains, disagrees or blocks."),
        options=(
            ProcessOption("Agree", _l("I support this proposal.")),
            ProcessOption("Abstain", _l("I'm happy for the group to decide without me.")),
            ProcessOption("Disagree", _l("I think we can do better, but I won't stand in the way.")),
            ProcessOption("Block", _l("I have serious objections and can't go along with this.")),
        ),
        prompt=_l("Why did you choose this? Others will read it."),
        details="## What we propose\n\n\n## Why\n\n\n## What it will take\n",
        title="Proposal: ",
    ),
    Process(
        name="consent", label=_l("Consent decision"),
        description=_l("Go ahead unless someone sees a reason this would harm the group: objections, not preferences."),
        options=(
            ProcessOption("Consent", _l("It's good enough for now and safe enough to try.")),
            ProcessOption("Concern", _l("I consent, and want the group to hear a concern.")),
            ProcessOption("Object", _l("I see harm to the group or its aims; we should change the proposal first.")),
        ),
        prompt=_l("If you object, what harm do you see, and what change would resolve it?"),
        details="## Proposal\n\n\n## When we will review it\n",
        title="Consent: ", agrees="Consent", blocks=("Object",),
    ),
    Process(
        name="consensus", label=_l("Consensus decision"),
        description=_l("Look for a decision everyone can support; anyone may stand aside or block."),
        options=(
            ProcessOption("Agree", _l("I support this and want us to go ahead.")),
            ProcessOption("Stand aside", _l("I won't take part in this, but I won't stop the group.")),
            ProcessOption("Disagree", _l("I don't support this yet; let's keep talking.")),
            ProcessOption("Block", _l("This goes against what we share; I can't let it pass.")),
        ),
        prompt=_l("What would need to change for you to agree?"),
        details="## Proposal\n\n\n## What we have heard so far\n",
        title="Consensus: ",
    ),
    Process(
        name="advice", label=_l("Advice process"),
        description=_l("The person proposing decides, after asking the advice of everyone affected and anyone who knows."),
        options=(
            ProcessOption("Go ahead", _l("I support the decision as it stands.")),
            ProcessOption("Go ahead with advice", _l("Go ahead, and weigh the advice I give below.")),
            ProcessOption("Concern", _l("I have a concern the person deciding should weigh before deciding.")),
            ProcessOption("No advice", _l("I have no advice to give on this.")),
        ),
        prompt=_l("What advice would you give the person deciding?"),
        details="## What I intend to decide\n\n\n## Who is affected\n\n\n## When I will decide\n",
        title="Advice: ", agrees="Go ahead", blocks=(),
    ),
    Process(
        name="gradients", label=_l("Gradients of agreement"),
        description=_l("Eight points from whole-hearted endorsement to veto, so support and doubt both show."),
        options=(
            ProcessOption("Whole-hearted endorsement", _l("I really like it.")),
            ProcessOption("Agreement with a minor point of contention", _l("Basically, I like it.")),
            ProcessOption("Support with reservations", _l("I can live with it.")),
            ProcessOption("Abstain", _l("I have no opinion.")),
            ProcessOption("More discussion needed", _l("I don't understand the issue well enough yet.")),
            ProcessOption("Don't like but will support", _l("I want my disagreement noted, but I'll support the decision.")),
            ProcessOption("Serious disagreement", _l("I don't want to stop it, but I won't support it.")),
            ProcessOption("Veto", _l("I block this proposal.")),
        ),
        prompt=_l("Where do you stand, and what would move you?"),
        details="## Proposal\n",
        title="", agrees="Whole-hearted endorsement", blocks=("Veto",),
    ),
)}


def get_process(name: str | None) -> Process | None:
    """The process called `name`; None for no name; KeyError for an unknown one."""
    if not name:
        return None
    try:
        return PROCESSES[name]
    except KeyError:
        raise KeyError(f"Unknown decision process {name!r}; expected one of {', '.join(PROCESSES)}") from None


def for_poll(p) -> Process | None:
    """The process a poll follows (None for a plain poll, or a process this version no longer knows)."""
    return PROCESSES.get(getattr(p, "process", None) or "")


def processes_for(kind) -> list[Process]:
    """The processes a poll of type `kind` may follow (for the creation form)."""
    return [p for p in PROCESSES.values() if p.fits(kind)]
