"""Poll: choose one option, or between min and max options when multiple choice."""

from ..i18n import _, _l, _n
from .base import PollType, VoteError, is_int, int_choices, ordered_options, setting
from .grammar import OptionMatcher, join_reason, key, spaced_numbers, split_first_line

LIST_SEPARATORS = r"[,;&/]|\s+and\s+|\s+or\s+"
NONE_WORDS = {"none", "none of the above", "none of them", "neither", "nothing"}


def choice_limits(p) -> tuple[int, int]:
    """(min, max) options a voter must choose; unset means exactly one."""
    n = len(p.options)
    low = setting(p, "min_choices", 1)
    high = setting(p, "max_choices", max(low, 1))
    return low, min(high, n) if n else high


class Poll(PollType):
    """A simple poll over the group's own options; single choice unless max_choices > 1."""

    name = "poll"
    label = _l("Poll")
    description = _l("Choose one or more options from a list.")
    subject_keyword = "poll"
    settings_fields = ("min_choices", "max_choices", "allow_none_of_the_above")
    settings_form = "polls/settings/poll.html"
    vote_widget = "polls/vote/poll.html"
    offers_none_of_the_above = True

    def one_click(self, p) -> bool:
        return choice_limits(p)[1] == 1  # a single-choice poll: one option is the whole vote

    def read_form(self, p, form):
        picked = form.getlist("option")
        ids = {str(o.id): o.id for o in p.options}
        if "none" in picked:
            if len(picked) > 1:
                raise VoteError(_("“None of the above” can't be combined with other options."))
            return {}, form.get("reason")
        if not picked:
            raise VoteError(_("Please choose an option."))
        if any(choice not in ids for choice in picked):
            raise VoteError(_("That vote names an option this poll doesn't have."))
        return {ids[choice]: 1 for choice in picked}, form.get("reason")

    def form_values(self, p, choices):
        return dict(choices) if choices else {"none": 1}

    def check_settings(self, settings, option_names):
        errors = []
        low, high = settings.get("min_choices"), settings.get("max_choices")
        if low is not None and (not is_int(low) or low < 1):
            errors.append(_("The minimum number of choices must be a whole number of at least 1."))
        if high is not None and (not is_int(high) or high < 1):
            errors.append(_("The maximum number of choices must be a whole number of at least 1."))
        if is_int(low) and is_int(high) and high < low:
            errors.append(_("The maximum number of choices can't be less than the minimum."))
        if is_int(low) and low > len(option_names):
            errors.append(_("The minimum number of choices is more than the number of options."))
        return errors

    def check_choices(self, p, choices):
        self.require_known(p, choices)
        chosen = {i: 1 for i, score in choices.items() if score}
        low, high = choice_limits(p)
        if not chosen and setting(p, "allow_none_of_the_above", False):
            return {}
        if len(chosen) < low or len(chosen) > high:
            raise VoteError(_please_choose(low, high))
        return chosen

    def read(self, p, text):
        first, rest = split_first_line(text)
        if not first:
            raise VoteError(_("Your reply is empty, so there was no vote to read."))
        if setting(p, "allow_none_of_the_above", False) and key(first) in NONE_WORDS:
            return {}, rest
        matcher = OptionMatcher(ordered_options(p))
        tries = [(first, None)]
        if ":" in first:  # "1, 3: cheapest two" — the reason may follow a colon
            head, _sep, tail = first.partition(":")
            tries.append((head, tail))
        if spaced_numbers(first):
            tries.insert(0, (spaced_numbers(first), None))  # "1 3"
        error = None
        for vote, inline in tries:
            try:
                chosen = matcher.resolve_list(vote, LIST_SEPARATORS)
            except VoteError as e:
                error = e
                continue
            if not chosen:
                error = VoteError(_("Your reply's first line doesn't name any option."))
                continue
            return {o.id: 1 for o in chosen}, join_reason(inline, rest)
        raise error

    def vote_instructions(self, p):
        options = ordered_options(p)
        low, high = choice_limits(p)
        lines = [_to_vote(low, high)]
        if high > 1:
            lines.append(_("Separate your choices with commas."))
        if setting(p, "allow_none_of_the_above", False):
            lines.append(_("Reply “none” if none of the options suit you."))
        lines.append(self.reason_hint(p))
        count = min(max(low, 2 if high > 1 else 1), len(options))
        picks = options[:count]
        lines += [
            _("For example:"),
            "",
            "    " + ", ".join(str(n) for n in range(1, count + 1)),
            _("or:"),
            "    " + ", ".join(o.name for o in picks),
        ]
        return "\n".join(lines)

    def describe_choices(self, p, choices, zone=None):
        chosen = int_choices(choices)
        names = [o.name for o in ordered_options(p) if chosen.get(o.id)]
        return ", ".join(names) or _("None of the above")


def _please_choose(low: int, high: int) -> str:
    """"Please choose one option." / "…exactly 2 options." / "…between 1 and 3 options." """
    if low == high:
        if low == 1:
            return _("Please choose one option.")
        return _n("Please choose exactly %(num)s option.", "Please choose exactly %(num)s options.", low)
    return _n("Please choose between %(low)s and %(num)s option.", "Please choose between %(low)s and %(num)s options.",
              high, low=low)


def _to_vote(low: int, high: int) -> str:
    """The first line of the instructions: how many options to reply with."""
    if low == high:
        if low == 1:
            return _("To vote, reply with one option on the first line, by number or name.")
        return _n("To vote, reply with exactly %(num)s option on the first line, by number or name.",
                  "To vote, reply with exactly %(num)s options on the first line, by number or name.", low)
    return _n("To vote, reply with between %(low)s and %(num)s option on the first line, by number or name.",
              "To vote, reply with between %(low)s and %(num)s options on the first line, by number or name.",
              high, low=low)
