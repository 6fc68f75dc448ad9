"""Plain stand-ins for polls and votes: the poll types need no database."""

from types import SimpleNamespace as NS

DEFAULTS = dict(
    min_choices=None, max_choices=None, dots_per_person=None, min_score=None, max_score=None,
    minimum_rank=None, target=None, allow_none_of_the_above=False,
    reason_mode="optional", reason_max_length=500,
)


def make_poll(poll_type, names, **settings):
    """A poll whose option n (as shown, 1-based) has id 99 + n."""
    options = [NS(id=100 + i, name=n, priority=i, starts_at=None) for i, n in enumerate(names)]
    return NS(poll_type=poll_type, options=options, **{**DEFAULTS, **settings})


def stance(choices, reason=None, participant_id=None):
    return NS(choices=choices, reason=reason, participant_id=participant_id)
