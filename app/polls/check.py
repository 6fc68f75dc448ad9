"""Check: a quick sense check — looks good, not sure, or concerned."""

from ..i18n import _l
from .proposal import Proposal


class Check(Proposal):
    """A lightweight sense check; like a proposal without Block (so `blocked` stays False)."""

    name = "check"
    label = _l("Sense check")
    description = _l("Ask whether something looks good before going further.")
    default_closing_days = 3
    subject_keyword = None  # "Proposal:" starts a proposal, not a check
    synonyms = {
        "looks good": ("good", "lgtm", "yes", "ok", "okay", "+1"),
        "not sure": ("unsure", "maybe", "dunno"),
        "concerned": ("concern", "no", "-1", "worried"),
    }

    def default_options(self):
        return ["Looks good", "Not sure", "Concerned"]
