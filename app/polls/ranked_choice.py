"""Ranked choice: order the options; tallied by Borda count and by instant runoff.

A ballot's scores are (number of options − rank index), so the first choice
scores highest and the Borda total per option is just the summed scores.

Instant runoff: each round, every ballot counts for its highest-ranked option
still in the race. An option with more than half of the continuing (not yet
exhausted) ballots wins. Otherwise one option is eliminated: the one with the
fewest votes this round; ties go to the option with fewer votes in the
previous round (no previous round: skip), then the lower Borda total, then
the option shown later in the list.
"""

from ..i18n import _, _l, _n
from .base import PollType, Results, Round, VoteError, is_int, int_choices, ordered_options, percent, setting
from .grammar import OptionMatcher, join_reason, key, ordinal, spaced_numbers, split_first_line
from .poll import NONE_WORDS

LIST_SEPARATORS = r"[,;>]|\s+then\s+|\s*-+>\s*"


def minimum_rank(p) -> int:
    """How many options a ballot must rank (unset: at least one), capped at the number of options."""
    return min(setting(p, "minimum_rank", 1), len(p.options)) or 1


def ballot(choices: dict[int, int], order: dict[int, int]) -> list[int]:
    """Option ids from first choice to last: highest score first, display order breaks equal scores."""
    ranked = [i for i, s in choices.items() if s > 0 and i in order]
    return sorted(ranked, key=lambda i: (-choices[i], order[i]))


def instant_runoff(option_ids: list[int], ballots: list[list[int]], borda: dict[int, int]):
    """Run instant runoff over `ballots` (ids best first); return (rounds, winner id or None)."""
    position = {o: i for i, o in enumerate(option_ids)}
    remaining = list(option_ids)
    rounds: list[Round] = []
    previous: dict[int, int] = {}
    while remaining:
        counts = dict.fromkeys(remaining, 0)
        exhausted = 0
        for b in ballots:
            top = next((o for o in b if o in counts), None)
            if top is None:
                exhausted += 1
            else:
                counts[top] += 1
        continuing = len(ballots) - exhausted
        number = len(rounds) + 1
        leader = max(remaining, key=lambda o: (counts[o], -position[o]))
        if continuing and counts[leader] * 2 > continuing:
            rounds.append(Round(number, counts, continuing, exhausted, winner_id=leader))
            return rounds, leader
        if not continuing:
            if rounds or ballots:
                rounds.append(Round(number, counts, continuing, exhausted))
            return rounds, None
        loser = min(
            remaining,
            key=lambda o: (counts[o], previous.get(o, 0), borda.get(o, 0), -position[o]),
        )
        rounds.append(Round(number, counts, continuing, exhausted, eliminated_id=loser))
        remaining.remove(loser)
        previous = counts
    return rounds, None


class RankedChoice(PollType):
    """Rank the options in order of preference, at least `minimum_rank` of them."""

    name = "ranked_choice"
    label = _l("Ranked choice")
    description = _l("Put the options in your order of preference.")
    settings_fields = ("minimum_rank", "allow_none_of_the_above")
    settings_form = "polls/settings/ranked_choice.html"
    vote_widget = "polls/vote/ranked_choice.html"
    offers_none_of_the_above = True

    def read_form(self, p, form):
        options = ordered_options(p)
        if form.get("none") and setting(p, "allow_none_of_the_above", False):
            if any((form.get(f"rank-{o.id}") or "").strip() for o in options):
                raise VoteError(_("“None of the above” can't be combined with ranking options."))
            return {}, form.get("reason")
        ranks = {}
        for o in options:
            raw = (form.get(f"rank-{o.id}") or "").strip()
            if not raw:
                continue
            try:
                ranks[o.id] = int(raw)
            except ValueError:
                raise VoteError(_("The rank for “%(option)s” must be a number.", option=o.name)) from None
            if not 1 <= ranks[o.id] <= len(options):
                raise VoteError(_("Ranks go from 1 to %(count)s.", count=len(options)))
        if len(set(ranks.values())) != len(ranks):
            raise VoteError(_("Each rank can be given to one option only."))
        order = sorted(ranks, key=ranks.get)  # gaps are fine: 1, 3 means first and second
        return {option_id: len(options) - i for i, option_id in enumerate(order)}, form.get("reason")

    def form_values(self, p, choices):
        if not choices:
            return {"none": 1}
        n = len(p.options)  # stored scores are n - rank index; the form shows ranks from 1
        return {option_id: n - score + 1 for option_id, score in choices.items() if score}

    def result_line(self, row):
        return _n("%(num)s point (%(percent)s%%)", "%(num)s points (%(percent)s%%)", row.score_total,
                  percent=f"{row.percent:.0f}")

    def check_settings(self, settings, option_names):
        rank = settings.get("minimum_rank")
        if rank is not None and (not is_int(rank) or rank < 1):
            return [_("The number of options to rank must be at least 1.")]
        if rank is not None and rank > len(option_names):
            return [_("The number of options to rank is more than the number of options.")]
        return []

    def check_choices(self, p, choices):
        self.require_known(p, choices)
        n = len(p.options)
        ranked = {i: s for i, s in choices.items() if s}
        if not ranked and setting(p, "allow_none_of_the_above", False):
            return {}
        scores = sorted(ranked.values(), reverse=True)
        if scores != list(range(n, n - len(scores), -1)):
            raise VoteError(_("Please rank each option once, from your first choice down."))
        need = minimum_rank(p)
        if len(ranked) < need:
            raise VoteError(_n("Please rank at least %(num)s option.", "Please rank at least %(num)s options.", need))
        return ranked

    def read(self, p, text):
        first, rest = split_first_line(text)
        if not first:
            raise VoteError(_("Your reply is empty, so there was no vote to read."))
        if setting(p, "allow_none_of_the_above", False):
            head = first.partition(":")[0]
            if key(first) in NONE_WORDS or key(head) in NONE_WORDS:
                return {}, join_reason(first.partition(":")[2] if key(first) not in NONE_WORDS else None, rest)
        matcher = OptionMatcher(ordered_options(p))
        tries = [(first, None)]
        if ":" in first:
            head, _sep, tail = first.partition(":")
            tries.append((head, tail))
        if spaced_numbers(first):
            tries.insert(0, (spaced_numbers(first), None))  # "3 1 2"
        error = None
        for vote, inline in tries:
            try:
                order = matcher.resolve_list(vote, LIST_SEPARATORS)
            except VoteError as e:
                error = e
                continue
            seen = set()
            for o in order:
                if o.id in seen:
                    raise VoteError(_("You ranked “%(option)s” more than once.", option=o.name))
                seen.add(o.id)
            n = len(p.options)
            return {o.id: n - i for i, o in enumerate(order)}, join_reason(inline, rest)
        raise error

    def vote_instructions(self, p):
        options = ordered_options(p)
        need = minimum_rank(p)
        example = list(reversed(options))[: max(need, min(3, len(options)))]
        numbers = [options.index(o) + 1 for o in example]
        how = (_("To vote, rank all the options on the first line, your favourite first,\n"
                 "by name or number, separated by commas.") if need >= len(options)
               else _n("To vote, rank at least %(num)s option on the first line, your favourite first,\n"
                       "by name or number, separated by commas.",
                       "To vote, rank at least %(num)s options on the first line, your favourite first,\n"
                       "by name or number, separated by commas.", need))
        return "\n".join(
            [
                how,
                *([_("Reply “none” if none of the options suit you.")]
                  if setting(p, "allow_none_of_the_above", False) else []),
                self.reason_hint(p),
                _("For example:"),
                "",
                "    " + ", ".join(o.name for o in example),
                _("or:"),
                "    " + ", ".join(str(n) for n in numbers),
            ]
        )

    def describe_choices(self, p, choices, zone=None):
        order = {o.id: i for i, o in enumerate(ordered_options(p))}
        names = {o.id: o.name for o in p.options}
        ranked = ballot(int_choices(choices), order)
        if not ranked and setting(p, "allow_none_of_the_above", False):
            return _("None of the above")
        return ", ".join(f"{ordinal(i)} {names[o]}" for i, o in enumerate(ranked, 1)) or _("Nothing ranked")

    def finish(self, p, results: Results, stances):
        for row in results.options:
            row.percent = percent(row.score_total, results.total_score)
        order = {o.id: i for i, o in enumerate(ordered_options(p))}
        ballots = [b for b in (ballot(self.stance_choices(s), order) for s in stances) if b]  # "none": no ballot
        borda = {row.option_id: row.score_total for row in results.options}
        results.rounds, results.winner_id = instant_runoff(list(order), ballots, borda)
