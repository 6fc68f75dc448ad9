"""The interface every poll type implements, and the value objects it returns.

Pure Python: a poll, option or stance is anything with the attributes named in
`PollLike`, `OptionLike` and `StanceLike` (the ORM models, or SimpleNamespace
in tests). A vote's `choices` maps option id → score, with per-type meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from ..i18n import _, _l, _n, option_label
from .errors import VoteError
from .labels import option_synonyms
from .grammar import OptionMatcher, join_reason, key, normalise_text, parse_number, split_first_line

__all__ = ["VoteError"]  # re-exported: callers catch it from here or from app.polls


class OptionLike(Protocol):
    id: int
    name: str
    priority: int


class PollLike(Protocol):
    poll_type: str
    options: list
    reason_mode: str
    reason_max_length: int


class StanceLike(Protocol):
    choices: dict
    reason: str | None
    participant_id: int | None


@dataclass(frozen=True)
class ParsedVote:
    """A vote read from an email reply: validated `choices`, and the reason.

    `extra_text` holds text that came with the vote when the poll takes no
    reasons, so the caller can post it as a comment instead of dropping it.
    """

    choices: dict[int, int]
    reason: str | None
    extra_text: str | None = None


@dataclass
class OptionResult:
    """One option's row in the results, in display order.

    `voter_count` is how many stances chose the option (a non-zero score;
    for score and meeting polls, every stance that answered it). `percent`
    is of voters for choice polls and meeting "yes", of the total score for
    dot vote, score and ranked choice.
    """

    option_id: int
    name: str
    priority: int
    voter_count: int = 0
    score_total: int = 0
    percent: float = 0.0
    average: float | None = None  # score: mean score among those who scored it
    yes: int = 0  # meeting: answers per slot
    maybe: int = 0
    no: int = 0


@dataclass(frozen=True)
class Answer:
    """One written answer to a question poll (participant_id is None when anonymous)."""

    participant_id: int | None
    text: str


@dataclass(frozen=True)
class Round:
    """One instant-runoff round: top continuing preference per remaining option."""

    number: int
    counts: dict[int, int]
    continuing: int
    exhausted: int
    eliminated_id: int | None = None
    winner_id: int | None = None


@dataclass
class Results:
    """The tally of a poll; fields a type does not use keep their defaults."""

    poll_type: str
    voter_count: int
    options: list[OptionResult] = field(default_factory=list)
    total_score: int = 0
    blocked: bool = False  # proposal/check: someone chose Block
    target: int | None = None  # count
    progress: float | None = None  # count: "in" voters / target
    answers: list[Answer] = field(default_factory=list)  # question
    rounds: list[Round] = field(default_factory=list)  # ranked choice (instant runoff)
    winner_id: int | None = None  # ranked choice (instant runoff)
    best_option_id: int | None = None  # meeting
    none_of_the_above: int = 0  # poll, ranked choice: votes for "None of the above"
    requirements: list = field(default_factory=list)  # proposals: app.polls.thresholds.Requirement, filled by the service

    def option(self, option_id: int) -> OptionResult:
        """The row for `option_id` (KeyError if the poll has no such option)."""
        for row in self.options:
            if row.option_id == option_id:
                return row
        raise KeyError(option_id)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A number with its noun, singular for one: "1 option", "3 options", "1 dot"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def in_sentence(label) -> str:
    """A poll type's or process's name inside a sentence ("A proposal needs…"): lower case, except in
    German, where nouns keep their capital."""
    from ..i18n import current_locale

    return str(label) if current_locale() == "de" else str(label).lower()


def ordered_options(p) -> list:
    """The poll's options in display order (priority, then id): option n is index n-1."""
    return sorted(p.options, key=lambda o: (o.priority, o.id))


def setting(p, name: str, default: Any = None) -> Any:
    """A poll setting, with `default` when it is missing or None."""
    value = getattr(p, name, None)
    return default if value is None else value


def int_choices(choices: dict | None) -> dict[int, int]:
    """Coerce a choices mapping to int → int (JSON columns and forms give strings)."""
    out: dict[int, int] = {}
    for k, v in (choices or {}).items():
        if isinstance(v, bool) or isinstance(k, bool):
            raise VoteError(_("That isn't a valid choice."))
        try:
            out[int(k)] = int(v)
        except (TypeError, ValueError):
            raise VoteError(_("That isn't a valid choice.")) from None
    return out


def is_int(value: Any) -> bool:
    """True for a real int (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool)


class PollType:
    """One kind of poll: its settings, how a vote is validated, read from email, tallied and described."""

    name: str = ""
    label: str = ""
    description: str = ""
    fixed_options: bool = False
    default_closing_days: int = 7
    min_options: int = 2
    # Types whose zero score is an answer ("no", or a score of 0), not the absence of a choice.
    zero_is_an_answer: bool = False
    # What forms, pages and mails ask of a type (they never switch on its name).
    default_reason_mode: str = "optional"
    written_answers: bool = False  # the vote is a written answer: no options, no separate reason
    options_are_slots: bool = False  # the options are time slots, each with a start time
    outcome_names_option: bool = False  # the outcome names the chosen option (a meeting's slot)
    shows_voter_table: bool = True  # results list who chose what (a meeting draws its own grid)
    title_label: str = _l("Title")
    settings_fields: tuple[str, ...] = ()  # the poll columns of this type's own settings
    settings_form: str | None = None  # the template of their inputs on the creation form
    vote_widget: str = ""  # the template of the vote inputs on the poll page
    subject_keyword: str | None = None  # a mail to the group whose subject starts "<keyword>:" starts one
    takes_thresholds: bool = False  # a participation quorum, a share of agree, no blocks (app.polls.thresholds)
    offers_none_of_the_above: bool = False  # the per-poll setting "None of the above" applies

    @property
    def options_field(self) -> str:
        """The creation form's field that holds the options."""
        return "slots" if self.options_are_slots else "options"

    @property
    def takes_option_names(self) -> bool:
        """The creation form asks for option names, one per line."""
        return not (self.fixed_options or self.written_answers or self.options_are_slots)

    def default_options(self) -> list[str]:
        """Option names a new poll of this type starts with."""
        return []

    def setting_defaults(self) -> dict[str, Any]:
        """Values of this type's own settings when the creator leaves them empty."""
        return {}

    def one_click(self, p) -> bool:
        """Whether a vote is one option, so a signed link in the poll mail can cast it in one click."""
        return False

    # --- creation form -------------------------------------------------

    def validate_settings(self, settings: dict) -> list[str]:
        """Error messages for the creation form; `settings` uses the poll's attribute names plus `options` (names)."""
        errors: list[str] = []
        options = settings.get("options")
        if options is None:
            options = self.default_options()
        names = [str(getattr(o, "name", o)).strip() for o in options]
        errors += self._check_option_names(names)
        mode = settings.get("reason_mode", "optional")
        if mode not in ("off", "optional", "required"):
            errors.append(_("Reasons must be off, optional or required."))
        length = settings.get("reason_max_length")
        if length is not None and (not is_int(length) or length < 1):
            errors.append(_("The reason length limit must be a whole number of at least 1."))
        return errors + self.check_settings(settings, names)

    def _check_option_names(self, names: list[str]) -> list[str]:
        errors = []
        if len(names) < self.min_options:
            errors.append(_n("A %(type)s needs at least %(num)s option.", "A %(type)s needs at least %(num)s options.",
                             self.min_options, type=in_sentence(self.label)))
        if any(not n for n in names):
            errors.append(_("Options can't be blank."))
        keys = [key(n) for n in names if n]
        if len(set(keys)) != len(keys):
            errors.append(_("Two options have the same name."))
        if any(parse_number(n) is not None for n in names if n):
            # Replies pick options by number, so a name like "2" could mean two things.
            errors.append(_("An option's name can't be just a number; people reply with option numbers."))
        return errors

    def check_settings(self, settings: dict, option_names: list[str]) -> list[str]:
        """Type-specific setting errors (override)."""
        return []

    # --- one vote ------------------------------------------------------

    def validate(self, p, choices: dict, reason: str | None) -> dict[int, int]:
        """Return `choices` normalised for storage, or raise VoteError with a member-facing message."""
        self.clean_reason(p, reason)
        return self.check_choices(p, int_choices(choices))

    def clean_reason(self, p, reason: str | None) -> str | None:
        """The reason as it will be stored (stripped, None if blank); VoteError if the poll's rules forbid it."""
        reason = (reason or "").strip() or None
        mode = setting(p, "reason_mode", "optional")
        if mode == "required" and reason is None:
            raise VoteError(_("This poll asks everyone to give a reason with their vote."))
        if mode == "off" and reason is not None:
            raise VoteError(_("This poll doesn't take reasons; please send just your vote."))
        limit = setting(p, "reason_max_length", 0)
        if reason is not None and limit and len(reason) > limit:
            raise VoteError(_("Your reason is %(length)s characters long; this poll allows at most %(limit)s.",
                              length=len(reason), limit=limit))
        return reason

    def check_choices(self, p, choices: dict[int, int]) -> dict[int, int]:
        """Type-specific validation of int choices (override)."""
        raise NotImplementedError

    def known_ids(self, p) -> set[int]:
        return {o.id for o in p.options}

    def require_known(self, p, choices: dict[int, int]) -> None:
        if set(choices) - self.known_ids(p):
            raise VoteError(_("That vote names an option this poll doesn't have."))

    # --- email ---------------------------------------------------------

    def parse_vote_text(self, p, text: str, zone: str | None = None) -> ParsedVote:
        """Read a vote from the text of an email reply, validated; VoteError explains the expected
        format (options named for a reader in `zone`)."""
        try:
            choices, reason = self.read(p, normalise_text(text))
            extra = None
            if setting(p, "reason_mode", "optional") == "off":
                extra, reason = reason, None
            choices = self.validate(p, choices, reason)
        except VoteError as e:
            raise VoteError(f"{e}\n\n{self.help_text(p, zone)}") from None
        return ParsedVote(choices, self.clean_reason(p, reason), extra)

    def read(self, p, text: str) -> tuple[dict[int, int], str | None]:
        """Type-specific grammar: text → (choices, reason), raising VoteError (override)."""
        raise NotImplementedError

    def option_label(self, option, zone: str | None = None) -> str:
        """An option as a reader in `zone` should see it in mail (time slots: in their zone; a default
        option name in the reader's language)."""
        return option_label(option.name)

    def help_text(self, p, zone: str | None = None) -> str:
        """The numbered options and voting instructions, for an error reply."""
        lines = [f"  {n}. {self.option_label(o, zone)}" for n, o in enumerate(ordered_options(p), 1)]
        head = _("The options are:") + "\n" + "\n".join(lines) + "\n\n" if lines else ""
        return head + self.vote_instructions(p)

    def vote_instructions(self, p) -> str:
        """Plain-text lines shown under the numbered options: how to vote by reply, with an example."""
        raise NotImplementedError

    def reason_hint(self, p, same_line: bool = True) -> str:
        """One sentence on where the reason goes, according to the poll's reason mode (`same_line`: the
        vote's own line may carry it after a colon; else only the lines below)."""
        mode = setting(p, "reason_mode", "optional")
        if mode == "off":
            return _("This poll doesn't take reasons.")
        if mode == "required":
            return (_("A reason is required: write it after a colon on the same line, or on the lines below.")
                    if same_line else _("A reason is required: write it on the lines below."))
        return (_("You can add a reason: write it after a colon on the same line, or on the lines below.")
                if same_line else _("You can add a reason: write it on the lines below."))

    def describe_choices(self, p, choices: dict, zone: str | None = None) -> str:
        """Human text of one vote, for confirmation emails and the poll page (time slots in `zone`)."""
        raise NotImplementedError

    # --- the web form --------------------------------------------------

    def read_form(self, p, form) -> tuple[dict[int, int], str | None]:
        """The vote form (anything with `get` and `getlist`) as (choices, reason); VoteError if unreadable."""
        raise NotImplementedError

    def form_values(self, p, choices: dict[int, int]) -> dict:
        """What the vote form shows as chosen for a stored vote (option id → input value)."""
        return dict(choices)

    # --- results -------------------------------------------------------

    def result_line(self, row: OptionResult) -> str:
        """One option's result in a sentence's worth of text (digests and mails)."""
        return f"{row.voter_count} ({row.percent:.0f}%)"

    def tally(self, p, stances: Iterable) -> Results:
        """Count the stances into per-option rows; types add their extras in `finish`."""
        options = ordered_options(p)
        rows = {o.id: OptionResult(o.id, o.name, o.priority) for o in options}
        stances = list(stances)
        for s in stances:
            for option_id, score in self.stance_choices(s).items():
                row = rows.get(option_id)
                if row is not None and (score > 0 or self.zero_is_an_answer):
                    row.voter_count += 1
                    row.score_total += score
        results = Results(self.name, len(stances), [rows[o.id] for o in options])
        results.total_score = sum(r.score_total for r in results.options)
        if setting(p, "allow_none_of_the_above", False):
            results.none_of_the_above = sum(1 for s in stances if not any(v > 0 for v in self.stance_choices(s).values()))
        self.finish(p, results, stances)
        return results

    def stance_choices(self, stance) -> dict[int, int]:
        """A stored stance's choices as int → int, skipping anything unreadable."""
        out = {}
        for k, v in (getattr(stance, "choices", None) or {}).items():
            try:
                out[int(k)] = int(v)
            except (TypeError, ValueError):
                continue
        return out

    def finish(self, p, results: Results, stances: list) -> None:
        """Fill percentages and type extras (override); default: percent of voters."""
        for row in results.options:
            row.percent = percent(row.voter_count, results.voter_count)


def percent(part: float, whole: float) -> float:
    """`part` as a percentage of `whole`, 0 when `whole` is 0."""
    return 100.0 * part / whole if whole else 0.0


class SingleChoiceType(PollType):
    """Proposal, check and count: exactly one of a few fixed options, reason after a colon."""

    fixed_options = True
    # Everyday words that unambiguously mean a default option (only used while it keeps that name).
    synonyms: dict[str, tuple[str, ...]] = {}

    def check_choices(self, p, choices):
        self.require_known(p, choices)
        chosen = [i for i, score in choices.items() if score]
        if len(chosen) != 1:
            raise VoteError(_("Please choose exactly one option."))
        return {chosen[0]: 1}

    def read(self, p, text):
        first, rest = split_first_line(text)
        if not first:
            raise VoteError(_("Your reply is empty, so there was no vote to read."))
        matcher = OptionMatcher(ordered_options(p), option_synonyms(self.synonyms))
        # Try the whole line, then the part before the first separator ("disagree: too costly").
        tries = [(first, None)]
        m = re.search(r"\s*(?::|;|,|\s-+\s|-{2,}|[.!?](?:\s|$))\s*", first)
        if m:
            tries.append((first[: m.start()], first[m.end() :]))
        error = None
        for vote, inline in tries:
            try:
                option = matcher.resolve(vote)
            except VoteError as e:
                error = e
                continue
            if inline and (matcher.is_name(inline) or parse_number(inline) is not None):
                # "agree, disagree" is two votes, not a vote and a reason.
                raise VoteError(_("Please choose only one option."))
            return {option.id: 1}, join_reason(inline, rest)
        raise error

    def vote_instructions(self, p):
        options = ordered_options(p)
        example = option_label(options[0].name) if options else "1"
        takes_reason = setting(p, "reason_mode", "optional") != "off"
        return "\n".join(
            [
                _("To vote, reply with your choice on the first line: its name or its number."),
                self.reason_hint(p),
                _("For example:"),
                "",
                "    " + _("%(option)s: my reason in a few words", option=example) if takes_reason else f"    {example}",
                _("or just:"),
                "    1",
            ]
        )

    def describe_choices(self, p, choices, zone=None):
        chosen = int_choices(choices)
        return ", ".join(option_label(o.name) for o in ordered_options(p) if chosen.get(o.id)) or _("No choice")

    vote_widget = "polls/vote/single_choice.html"

    def one_click(self, p) -> bool:
        return True

    def read_form(self, p, form):
        picked = form.get("option", "")
        ids = {str(o.id): o.id for o in p.options}
        if picked not in ids:
            raise VoteError(_("Please choose one option."))
        return {ids[picked]: 1}, form.get("reason")


def read_number_inputs(p, form, prefix: str, *, required: bool) -> dict[int, int]:
    """`<prefix>-<option id>` number inputs as option id → int (blank: skipped, or refused if required)."""
    out = {}
    for o in ordered_options(p):
        raw = (form.get(f"{prefix}-{o.id}") or "").strip()
        if not raw:
            if required:
                raise VoteError(_("Please give “%(option)s” a score.", option=o.name))
            continue
        try:
            out[o.id] = int(raw)
        except ValueError:
            raise VoteError(_("The value for “%(option)s” must be a whole number.", option=o.name)) from None
    return out
