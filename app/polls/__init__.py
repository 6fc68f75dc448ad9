"""The nine poll types as pure Python: validate a vote, read one from email, tally, describe.

    from app.polls import get_type
    kind = get_type(poll.poll_type)
    vote = kind.parse_vote_text(poll, reply_text)   # ParsedVote or VoteError
    results = kind.tally(poll, poll.stances)
"""

from .base import Answer, OptionResult, ParsedVote, PollType, Results, Round, VoteError
from .check import Check
from .count import Count
from .dot_vote import DotVote
from .meeting import Meeting
from .poll import Poll
from .proposal import Proposal
from .question import Question
from .ranked_choice import RankedChoice
from .score import Score

POLL_TYPES: dict[str, PollType] = {
    t.name: t
    for t in (
        Proposal(), Check(), Count(), Question(), Poll(), DotVote(), Score(), RankedChoice(), Meeting(),
    )
}


def get_type(name: str) -> PollType:
    """The poll type called `name`; KeyError for an unknown type."""
    try:
        return POLL_TYPES[name]
    except KeyError:
        raise KeyError(f"Unknown poll type {name!r}; expected one of {', '.join(POLL_TYPES)}") from None


def for_poll(p) -> PollType:
    """The poll type of poll object `p`."""
    return get_type(p.poll_type)


__all__ = [
    "POLL_TYPES", "get_type", "for_poll", "PollType", "VoteError", "ParsedVote",
    "Results", "OptionResult", "Round", "Answer",
]
