"""Count: who's in, who's out, and progress towards a target number of people."""

from ..i18n import _, _l
from .base import Results, SingleChoiceType, is_int, percent, setting
from .grammar import key


class Count(SingleChoiceType):
    """Gather names: each member is in or out; an optional target says how many "in" are needed."""

    name = "count"
    label = _l("Count")
    description = _l("Find out who's in, with an optional target number of people.")
    default_closing_days = 7
    settings_fields = ("target",)
    settings_form = "polls/settings/count.html"
    synonyms = {
        "in": ("yes", "i'm in", "im in", "i am in", "count me in", "+1"),
        "out": ("no", "i'm out", "im out", "i am out", "count me out", "-1"),
    }

    def default_options(self):
        return ["In", "Out"]

    def check_settings(self, settings, option_names):
        target = settings.get("target")
        if target is not None and (not is_int(target) or target < 1):
            return [_("The target must be a whole number of at least 1.")]
        return []

    def finish(self, p, results: Results, stances):
        for row in results.options:
            row.percent = percent(row.voter_count, results.voter_count)
        results.target = setting(p, "target")
        # "In" is the option still called In, else the first one shown.
        rows = results.options
        in_row = next((r for r in rows if key(r.name) == "in"), rows[0] if rows else None)
        if results.target and in_row is not None:
            results.progress = in_row.voter_count / results.target
