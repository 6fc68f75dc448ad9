"""Score: every option gets a score between the poll's minimum and maximum."""

from ..i18n import _, _l, _n
from .base import PollType, Results, VoteError, is_int, int_choices, ordered_options, percent, read_number_inputs, setting
from .grammar import OptionMatcher, pairs_to_choices, read_scored_lines

DEFAULT_MIN, DEFAULT_MAX = 0, 9


def score_range(p) -> tuple[int, int]:
    """The (min, max) score, with the defaults Loomio uses."""
    return setting(p, "min_score", DEFAULT_MIN), setting(p, "max_score", DEFAULT_MAX)


class Score(PollType):
    """Score each option; results show the total and average per option."""

    name = "score"
    label = _l("Score poll")
    description = _l("Give every option a score, e.g. from 0 to 9.")
    zero_is_an_answer = True
    settings_fields = ("min_score", "max_score")
    settings_form = "polls/settings/score.html"
    vote_widget = "polls/vote/score.html"

    def setting_defaults(self):
        return {"min_score": DEFAULT_MIN, "max_score": DEFAULT_MAX}

    def read_form(self, p, form):
        return read_number_inputs(p, form, "score", required=True), form.get("reason")

    def result_line(self, row):
        return _n("%(num)s point (%(percent)s%%)", "%(num)s points (%(percent)s%%)", row.score_total,
                  percent=f"{row.percent:.0f}")

    def check_settings(self, settings, option_names):
        low = settings.get("min_score", DEFAULT_MIN)
        high = settings.get("max_score", DEFAULT_MAX)
        low = DEFAULT_MIN if low is None else low
        high = DEFAULT_MAX if high is None else high
        if not (is_int(low) and is_int(high)):
            return [_("Scores must be whole numbers.")]
        if high <= low:
            return [_("The maximum score must be more than the minimum.")]
        if high - low > 1000:
            return [_("The score range is too wide (at most 1000 apart).")]
        return []

    def check_choices(self, p, choices):
        self.require_known(p, choices)
        low, high = score_range(p)
        missing = [o.name for o in ordered_options(p) if o.id not in choices]
        if missing:
            raise VoteError(_("Please score every option; missing: %(options)s.", options=", ".join(missing)))
        names = {o.id: o.name for o in p.options}
        for option_id, value in choices.items():
            if not low <= value <= high:
                raise VoteError(_("The score for “%(option)s” is %(value)s; scores go from %(low)s to %(high)s.",
                                  option=names[option_id], value=value, low=low, high=high))
        return dict(choices)

    def read(self, p, text):
        pairs, reason = read_scored_lines(text, OptionMatcher(ordered_options(p)), "scores")
        return pairs_to_choices(pairs, "scores"), reason

    def vote_instructions(self, p):
        low, high = score_range(p)
        options = ordered_options(p)
        span = list(range(high, low - 1, -1)) or [low]
        example = [(o, span[(i * 3) % len(span)]) for i, o in enumerate(options)]
        return "\n".join(
            [
                _("To vote, give every option a score from %(low)s to %(high)s, by name or number,\n"
                  "on the first line separated by commas, or one per line.", low=low, high=high),
                self.reason_hint(p, same_line=False),
                _("For example:"),
                "",
                "    " + ", ".join(f"{o.name}={v}" for o, v in example),
                _("or:"),
                "    " + ", ".join(f"{n}={v}" for n, (_, v) in enumerate(example, 1)),
            ]
        )

    def describe_choices(self, p, choices, zone=None):
        chosen = int_choices(choices)
        return ", ".join(f"{o.name}: {chosen[o.id]}" for o in ordered_options(p) if o.id in chosen)

    def finish(self, p, results: Results, stances):
        for row in results.options:
            row.percent = percent(row.score_total, results.total_score)
            row.average = row.score_total / row.voter_count if row.voter_count else None
