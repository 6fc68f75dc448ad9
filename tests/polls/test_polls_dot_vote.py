"""Dot vote: spread dots_per_person dots across the options."""

import pytest

from app.polls import VoteError, get_type
from tests.polls.support import make_poll, stance

KIND = get_type("dot_vote")
NAMES = ["Apple", "Banana", "Carrot"]
A, B, C = 100, 101, 102


@pytest.mark.parametrize(
    "text, choices",
    [
        ("A: 5, C: 3", {A: 5, C: 3}),
        ("apple: 5, carrot: 3", {A: 5, C: 3}),
        ("Apple 5, Carrot 3", {A: 5, C: 3}),
        ("1: 5, 3: 3", {A: 5, C: 3}),
        ("Apple: 5 dots, Carrot: 3 dots", {A: 5, C: 3}),
        ("Apple: 5\nCarrot: 3", {A: 5, C: 3}),
        ("A: 8", {A: 8}),
        ("A: 0, B: 1", {B: 1}),
        ("5, 0, 3", {A: 5, C: 3}),
    ],
)
def test_dot_vote_reply_is_read(text, choices):
    assert KIND.parse_vote_text(make_poll("dot_vote", NAMES, dots_per_person=8), text).choices == choices


@pytest.mark.parametrize(
    "text, says",
    [
        ("A: 5, C: 4", "You gave 9 dots, but everyone has 8"),
        ("A: 0", "at least one dot"),
        ("A: 5, A: 1", "more than once"),
        ("apple", "Couldn't read"),
        ("A: -1, B: 3", "negative"),
    ],
)
def test_dot_vote_reply_is_refused(text, says):
    with pytest.raises(VoteError, match=says) as e:
        KIND.parse_vote_text(make_poll("dot_vote", NAMES, dots_per_person=8), text)
    assert "Apple: 4, Carrot: 4" in str(e.value)


def test_tally_dots_and_share():
    p = make_poll("dot_vote", NAMES, dots_per_person=4)
    results = KIND.tally(p, [stance({A: 3, B: 1}), stance({A: 1, C: 3})])
    assert [(r.score_total, r.voter_count, r.percent) for r in results.options] == [
        (4, 2, 50.0), (1, 1, 12.5), (3, 1, 37.5),
    ]
    assert results.total_score == 8


def test_describe_choices():
    p = make_poll("dot_vote", NAMES, dots_per_person=4)
    assert KIND.describe_choices(p, {C: 1, A: 3}) == "Apple: 3 dots, Carrot: 1 dot"
