"""Dot vote: spread a fixed number of dots across the options."""

from ..i18n import _, _l, _n
from .base import PollType, Results, VoteError, is_int, int_choices, ordered_options, percent, read_number_inputs, setting
from .grammar import OptionMatcher, pairs_to_choices, read_scored_lines

DEFAULT_DOTS = 8


class DotVote(PollType):
    """Each member has `dots_per_person` dots; results show dots per option and their share."""

    name = "dot_vote"
    label = _l("Dot vote")
    description = _l("Spread a number of dots across the options you favour.")
    settings_fields = ("dots_per_person",)
    settings_form = "polls/settings/dot_vote.html"
    vote_widget = "polls/vote/dot_vote.html"

    def setting_defaults(self):
        return {"dots_per_person": DEFAULT_DOTS}

    def read_form(self, p, form):
        return read_number_inputs(p, form, "score", required=False), form.get("reason")

    def result_line(self, row):
        return _n("%(num)s point (%(percent)s%%)", "%(num)s points (%(percent)s%%)", row.score_total,
                  percent=f"{row.percent:.0f}")

    def check_settings(self, settings, option_names):
        dots = settings.get("dots_per_person", DEFAULT_DOTS)
        if dots is not None and (not is_int(dots) or dots < 1):
            return [_("Each person needs at least 1 dot.")]
        return []

    def check_choices(self, p, choices):
        self.require_known(p, choices)
        dots = setting(p, "dots_per_person", DEFAULT_DOTS)
        if any(v < 0 for v in choices.values()):
            raise VoteError(_("You can't give an option a negative number of dots."))
        given = sum(choices.values())
        if given > dots:
            raise VoteError(_n("You gave %(num)s dot, but everyone has %(dots)s to spend.",
                              "You gave %(num)s dots, but everyone has %(dots)s to spend.", given, dots=dots))
        if given == 0:
            raise VoteError(_("Please give at least one dot to an option."))
        # A zero is no choice at all; keep stored votes minimal.
        return {i: v for i, v in choices.items() if v}

    def read(self, p, text):
        pairs, reason = read_scored_lines(text, OptionMatcher(ordered_options(p)), "dots")
        return pairs_to_choices(pairs, "dots"), reason

    def vote_instructions(self, p):
        dots = setting(p, "dots_per_person", DEFAULT_DOTS)
        options = ordered_options(p)
        first = (dots + 1) // 2
        example = [(options[0], first)] + ([(options[-1], dots - first)] if len(options) > 1 and dots > first else [])
        return "\n".join(
            [
                _n("To vote, spread up to %(num)s dot across the options, by name or number,\n"
                   "on the first line separated by commas, or one per line. Options you leave out get none.",
                   "To vote, spread up to %(num)s dots across the options, by name or number,\n"
                   "on the first line separated by commas, or one per line. Options you leave out get none.", dots),
                self.reason_hint(p, same_line=False),
                _("For example:"),
                "",
                "    " + ", ".join(f"{o.name}: {d}" for o, d in example),
                _("or:"),
                "    " + ", ".join(f"{options.index(o) + 1}: {d}" for o, d in example),
            ]
        )

    def describe_choices(self, p, choices, zone=None):
        chosen = int_choices(choices)
        parts = [
            _n("%(option)s: %(num)s dot", "%(option)s: %(num)s dots", chosen[o.id], option=o.name)
            for o in ordered_options(p)
            if chosen.get(o.id)
        ]
        return ", ".join(parts) or _("No dots")

    def finish(self, p, results: Results, stances):
        for row in results.options:
            row.percent = percent(row.score_total, results.total_score)
