"""Meeting: find a time — yes, maybe (if need be) or no for each proposed slot."""

import re
from functools import lru_cache

from .. import timezones
from ..i18n import _, _l, reply_word, reply_words
from .base import PollType, Results, VoteError, int_choices, ordered_options, percent
from .grammar import key, no_such_number, quote, split_first_line

YES, MAYBE, NO = 2, 1, 0
ANSWER_WORDS = {
    "yes": YES, "y": YES, "ok": YES, "okay": YES, "can": YES, "available": YES,
    "maybe": MAYBE, "m": MAYBE, "perhaps": MAYBE, "possibly": MAYBE, "if need be": MAYBE,
    "ifneedbe": MAYBE, "if needed": MAYBE,
    "no": NO, "n": NO, "can't": NO, "cant": NO, "cannot": NO, "unavailable": NO,
}
ANSWER_NAMES = {YES: "yes", MAYBE: "maybe", NO: "no"}


@lru_cache(maxsize=1)
def answer_words() -> dict[str, int]:
    """The English words above and yes / maybe / no in every shipped language ("ja", "vielleicht", "nein")."""
    words = dict(ANSWER_WORDS)
    for answer, name in ANSWER_NAMES.items():
        for word in reply_words(name):
            words.setdefault(word, answer)
    return words


@lru_cache(maxsize=1)
def _tokens() -> re.Pattern:
    spelled = "|".join(sorted((re.escape(w) for w in answer_words()), key=len, reverse=True))
    return re.compile(rf"(?P<answer>\b(?:{spelled})\b)|(?P<all>\ball\b|\bevery(?:thing| slot)?\b)|(?P<number>#?\d+)|(?P<skip>[,;:=.&/()\s]+|\band\b|\bslots?\b)")


def slot_time_key(option):
    """Earliest first: by start time when known, then display order."""
    starts = getattr(option, "starts_at", None)
    return (starts is None, starts.timestamp() if starts else 0, option.priority, option.id)


def _answer_name(answer: int) -> str:
    """yes / maybe / no, as the reader reads them."""
    return _("yes") if answer == YES else _("maybe") if answer == MAYBE else _("no")


class Meeting(PollType):
    """Propose time slots; each member says yes, maybe or no to each (unanswered means no)."""

    name = "meeting"
    label = _l("Meeting time")
    description = _l("Find a time that works: yes, maybe or no for each slot.")
    default_closing_days = 5
    min_options = 1
    zero_is_an_answer = True
    options_are_slots = True
    outcome_names_option = True
    shows_voter_table = False
    vote_widget = "polls/vote/meeting.html"

    def read_form(self, p, form):
        # Nothing is pre-chosen in the form: pressing Vote untouched must not record "no" everywhere.
        answered = {o.id: form.get(f"slot-{o.id}") for o in ordered_options(p) if form.get(f"slot-{o.id}")}
        if not answered:
            raise VoteError(_("Please choose yes, maybe or no for at least one time."))
        if any(raw not in ("0", "1", "2") for raw in answered.values()):
            raise VoteError(_("Each time slot takes yes, maybe or no."))
        return {o.id: int(answered.get(o.id, NO)) for o in ordered_options(p)}, form.get("reason")

    def form_values(self, p, choices):
        chosen = int_choices(choices)
        return {o.id: chosen.get(o.id, NO) for o in ordered_options(p)}  # a stored vote: unanswered was no

    def result_line(self, row):
        return _("%(yes)s yes, %(maybe)s maybe, %(no)s no", yes=row.yes, maybe=row.maybe, no=row.no)

    def option_label(self, option, zone=None):
        if option.starts_at is None:
            return option.name
        return timezones.local_slot(option.starts_at, zone, option.duration_minutes)

    def check_choices(self, p, choices):
        self.require_known(p, choices)
        if any(v not in (YES, MAYBE, NO) for v in choices.values()):
            raise VoteError(_("Each time slot takes yes, maybe or no."))
        # Store an answer for every slot so the vote reads the same later.
        return {o.id: choices.get(o.id, NO) for o in ordered_options(p)}

    def read(self, p, text):
        first, rest = split_first_line(text)
        if not first:
            raise VoteError(_("Your reply is empty, so there was no vote to read."))
        slots = ordered_options(p)
        answers = self._read_line(first, len(slots))
        return {slots[n - 1].id: a for n, a in answers.items()}, rest

    def _read_line(self, line: str, count: int) -> dict[int, int]:
        """`yes 1, 3; maybe 2` or `1: yes, 2: maybe` → {slot number: answer}."""
        text = key(line)
        tokens, pos = [], 0
        while pos < len(text):
            m = _tokens().match(text, pos)
            if not m or m.end() == pos:
                word = re.match(r"\S+", text[pos:]).group(0)
                raise VoteError(_("Couldn't read %(word)s in %(line)s.", word=quote(word), line=quote(line)))
            pos = m.end()
            if m.lastgroup != "skip":
                tokens.append((m.lastgroup, m.group(0)))
        answers: dict[int, int] = {}

        def give(n: int, answer: int):
            if not 1 <= n <= count:
                raise VoteError(no_such_number(n, count, "slot"))
            if answers.get(n, answer) != answer:
                raise VoteError(_("Slot %(number)s has two different answers.", number=n))
            answers[n] = answer

        pair_form = len(tokens) >= 2 and tokens[0][0] == "number" and tokens[1][0] == "answer"
        if pair_form:  # "1 yes, 2 maybe" — each answer follows its slot
            pending: list[int] = []
            for kind, value in tokens:
                if kind == "number":
                    pending.append(int(value.lstrip("#")))
                elif kind == "answer" and pending:
                    for n in pending:
                        give(n, answer_words()[value])
                    pending = []
                else:
                    raise VoteError(_("Couldn't read %(line)s: put yes, maybe or no after each slot number.", line=quote(line)))
            if pending:
                raise VoteError(_("Slot %(number)s has no yes, maybe or no after it.", number=pending[0]))
            return answers
        current = YES  # bare numbers ("1, 3") mean yes
        mentioned = False
        everything = None  # "maybe all; no 2": "all" covers the slots not named
        for kind, value in tokens:
            if kind == "answer":
                current, mentioned = answer_words()[value], False
                if current == NO or count == 1:
                    mentioned = True  # a lone "no" (or "yes" with one slot) is a whole answer
                if count == 1:
                    give(1, current)
            elif kind == "all":
                if everything not in (None, current):
                    raise VoteError(_("Your reply gives two different answers for all slots."))
                everything, mentioned = current, True
            else:
                give(int(value.lstrip("#")), current)
                mentioned = True
        if not tokens:
            raise VoteError(_("Couldn't read %(line)s as a vote.", line=quote(line)))
        if not mentioned:
            raise VoteError(_("Please say which slots you mean, e.g. “yes 1, 3” or “yes all”."))
        if everything is not None:
            for n in range(1, count + 1):
                answers.setdefault(n, everything)
        return answers

    def vote_instructions(self, p):
        count = len(p.options)
        yes, maybe = reply_word("yes"), reply_word("maybe")  # the reader's words (every language's are read)
        if count == 1:
            example = yes
        elif count == 2:
            example = f"{yes} 1; {maybe} 2"
        else:
            example = f"{yes} " + ", ".join(str(n) for n in range(1, count + 1, 2)) + f"; {maybe} 2"
        return "\n".join(
            [
                _("To vote, reply with the slot numbers you can make on the first line:\n"
                  "“yes” then the numbers, and “maybe” then the ones you could make if need be."),
                _("Slots you don't mention count as no. “yes all” says yes to every slot."),
                self.reason_hint(p, same_line=False),
                _("For example:"),
                "",
                f"    {example}",
            ]
        )

    def describe_choices(self, p, choices, zone=None):
        chosen = int_choices(choices)
        zone = zone or getattr(p, "time_zone", None)  # without the reader's zone, the author's
        return "; ".join(
            f"{self.option_label(o, zone)}: {_answer_name(chosen.get(o.id, NO))}"
            for o in ordered_options(p)
        )

    def finish(self, p, results: Results, stances):
        rows = {r.option_id: r for r in results.options}
        for s in stances:
            for option_id, score in self.stance_choices(s).items():
                row = rows.get(option_id)
                if row is not None and score == YES:
                    row.yes += 1
                elif row is not None and score == MAYBE:
                    row.maybe += 1
        for row in results.options:
            row.no = results.voter_count - row.yes - row.maybe  # unanswered slots are no
            row.percent = percent(row.yes, results.voter_count)
        if results.voter_count:
            slots = {o.id: o for o in p.options}
            best = min(
                results.options,
                key=lambda r: (-r.yes, -r.maybe, slot_time_key(slots[r.option_id])),
            )
            results.best_option_id = best.option_id
