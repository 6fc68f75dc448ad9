"""Question: the reply is the answer."""

import pytest

from app.polls import VoteError, get_type
from tests.polls.support import make_poll, stance

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
