"""Score: every option scored within [min_score, max_score]."""

import pytest

from app.polls import VoteError, get_type
from tests.polls.support import make_poll, stance

KIND = get_type("score")
NAMES = ["Apple", "Banana", "Carrot"]
A, B, C = 100, 101, 102


@pytest.mark.parametrize(
    "text, choices, reason",
    [
        ("A=4, B=2, C=0", {A: 4, B: 2, C: 0}, None),
        ("apple = 4, banana = 2, carrot = 0", {A: 4, B: 2, C: 0}, None),
        ("1=4, 2=2, 3=0", {A: 4, B: 2, C: 0}, None),
        ("Apple: 4\nBanana: 2\nCarrot: 0", {A: 4, B: 2, C: 0}, None),
        ("Apple: 4\nBanana: 2\nCarrot: 0\n\nBananas are overrated.", {A: 4, B: 2, C: 0}, "Bananas are overrated."),
        ("Apple: 4, Banana: 2\nCarrot: 0\nNote: 5 people asked", {A: 4, B: 2, C: 0}, "Note: 5 people asked"),
        ("Apple 4, Banana 2, Carrot 0", {A: 4, B: 2, C: 0}, None),
        ("Apple 4/5, Banana 2/5, Carrot 0/5", {A: 4, B: 2, C: 0}, None),
        ("- Apple: 4\n- Banana: 2\n- Carrot: 0", {A: 4, B: 2, C: 0}, None),
        ("4, 2, 0", {A: 4, B: 2, C: 0}, None),
        ("4 2 0\nin order", {A: 4, B: 2, C: 0}, "in order"),
    ],
)
def test_score_reply_is_read(text, choices, reason):
    vote = KIND.parse_vote_text(make_poll("score", NAMES, min_score=0, max_score=5), text)
    assert vote.choices == choices
    assert vote.reason == reason


@pytest.mark.parametrize(
    "text, says",
    [
        ("A=4, B=2", "missing: Carrot"),
        ("A=6, B=2, C=1", "scores go from 0 to 5"),
        ("A=-1, B=2, C=1", "scores go from 0 to 5"),
        ("A=1, A=2, B=2, C=1", "more than once"),
        ("Apple", "Couldn't read"),
        ("4, 2", "Couldn't read"),
        ("D=1, A=1, B=1, C=1", "isn't one of the options"),
        ("great stuff", "Couldn't read"),
    ],
)
def test_score_reply_is_refused(text, says):
    with pytest.raises(VoteError, match=says) as e:
        KIND.parse_vote_text(make_poll("score", NAMES, min_score=0, max_score=5), text)
    assert "Apple=5" in str(e.value)  # an example with the poll's own names


def test_negative_scores_when_the_range_allows():
    p = make_poll("score", NAMES, min_score=-2, max_score=2)
    assert KIND.parse_vote_text(p, "A=-2, B=0, C=+2").choices == {A: -2, B: 0, C: 2}


def test_default_range_is_0_to_9():
    p = make_poll("score", NAMES)
    assert KIND.validate(p, {A: 9, B: 0, C: 5}, None) == {A: 9, B: 0, C: 5}
    with pytest.raises(VoteError):
        KIND.validate(p, {A: 10, B: 0, C: 5}, None)


def test_tally_totals_and_averages():
    p = make_poll("score", NAMES, min_score=0, max_score=5)
    stances = [stance({A: 5, B: 1, C: 0}), stance({A: 3, B: 3, C: 0})]
    results = KIND.tally(p, stances)
    assert [(r.score_total, r.average, r.voter_count) for r in results.options] == [
        (8, 4.0, 2), (4, 2.0, 2), (0, 0.0, 2),
    ]
    assert results.total_score == 12
    assert results.option(A).percent == pytest.approx(100 * 8 / 12)


def test_describe_choices():
    p = make_poll("score", NAMES)
    assert KIND.describe_choices(p, {C: 1, A: 4, B: 0}) == "Apple: 4, Banana: 0, Carrot: 1"
