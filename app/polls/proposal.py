"""Proposal: agree, abstain, disagree or block; any block is flagged in the results."""

from ..i18n import _l
from .base import Results, SingleChoiceType, percent
from .grammar import key


class Proposal(SingleChoiceType):
    """A proposal the group agrees to, or not; one choice per member."""

    name = "proposal"
    label = _l("Proposal")
    description = _l("Propose a decision and see who agrees, abstains, disagrees or blocks.")
    default_closing_days = 7
    subject_keyword = "proposal"
    takes_thresholds = True
    synonyms = {
        "agree": ("yes", "agreed", "aye", "+1", "i agree"),
        "disagree": ("no", "nay", "-1", "i disagree"),
        "block": ("i block", "blocked"),
        "abstain": ("i abstain", "abstained", "pass"),
    }

    def default_options(self):
        return ["Agree", "Abstain", "Disagree", "Block"]

    def finish(self, p, results: Results, stances):
        for row in results.options:
            row.percent = percent(row.voter_count, results.voter_count)
        results.blocked = any(key(r.name) == "block" and r.voter_count for r in results.options)
