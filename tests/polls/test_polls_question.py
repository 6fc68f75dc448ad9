"""Question: the reply is the answer."""

from types import SimpleNamespace as NS

import pytest

from app.polls import VoteError, get_type

DEFAULTS = dict(
    min_choices=None, max_choices=None, dots_per_person=None, min_score=None, max_score=None,
    minimum_rank=None, target=None, allow_none_of_the_above=False,
    reason_mode="optional", reason_max_length=500,
)


def make_poll(poll_type, names, **settings):
    """A poll whose option n (as shown, 1-based) has id 99 + n."""
    options = [NS(id=100 + i, name=n, priority=i) for i, n in enumerate(names)]
    return NS(poll_type=poll_type, options=options, **{**DEFAULTS, **settings})


def stance(choices, reason=None, participant_id=None):
    return NS(choices=choices, reason=reason, participant_id=participant_id)


KIND = get_type("question")


def test_the_whole_reply_is_the_answer():
    p = make_poll("question", [])
    vote = KIND.parse_vote_text(p, "  Saturday works:\nbring snacks  ")
    assert vote.choices == {} and vote.reason == "Saturday works:\nbring snacks"


def test_answer_is_kept_even_when_reasons_are_off():
    vote = KIND.parse_vote_text(make_poll("question", [], reason_mode="off"), "Saturday")
    assert vote.reason == "Saturday"


@pytest.mark.parametrize("text, says", [("", "write an answer"), (" \n ", "write an answer"), ("x" * 501, "at most 500")])
def test_empty_or_long_answers_are_refused(text, says):
    with pytest.raises(VoteError, match=says) as e:
        KIND.parse_vote_text(make_poll("question", []), text)
    assert "whole of your reply" in str(e.value)


def test_validate_refuses_choices():
    with pytest.raises(VoteError):
        KIND.validate(make_poll("question", []), {1: 1}, "an answer")


def test_tally_lists_answers():
    stances = [stance({}, "Saturday", 7), stance({}, "  ", 8), stance({}, "Sunday", None)]
    results = KIND.tally(make_poll("question", []), stances)
    assert [(a.participant_id, a.text) for a in results.answers] == [(7, "Saturday"), (None, "Sunday")]
    assert results.voter_count == 2 and results.options == []
