"""Ranked choice: grammar, Borda totals and instant runoff (hand-computed)."""

import pytest

from app.polls import VoteError, get_type
from app.polls.base import Round
from app.polls.ranked_choice import instant_runoff
from tests.polls.support import make_poll, stance

KIND = get_type("ranked_choice")
NAMES = ["Apple", "Banana", "Carrot"]
A, B, C = 100, 101, 102


def ballots_to_stances(p, ballots):
    """Turn id lists (best first) into stances scored n − rank index."""
    n = len(p.options)
    return [stance({o: n - i for i, o in enumerate(b)}) for b in ballots]


@pytest.mark.parametrize(
    "text, order, reason",
    [
        ("C, A, B", [C, A, B], None),
        ("c,a,b", [C, A, B], None),
        ("3, 1, 2", [C, A, B], None),
        ("3 1 2", [C, A, B], None),
        ("#3, #1", [C, A], None),
        ("Carrot > Apple > Banana", [C, A, B], None),
        ("carrot then apple", [C, A], None),
        ("1st Carrot, 2nd Apple", [C, A], None),
        ("carrot", [C], None),
        ("C, A: crunchy first", [C, A], "crunchy first"),
        ("C, A\ncrunchy first", [C, A], "crunchy first"),
    ],
)
def test_ranked_reply_is_read(text, order, reason):
    vote = KIND.parse_vote_text(make_poll("ranked_choice", NAMES), text)
    assert vote.choices == {o: 3 - i for i, o in enumerate(order)}
    assert vote.reason == reason


@pytest.mark.parametrize(
    "text, says, settings",
    [
        ("C, A, C", "more than once", {}),
        ("4, 1", "no option 4", {}),
        ("C", "at least 2", {"minimum_rank": 2}),
        ("Durian, Apple", "isn't one of the options", {}),
    ],
)
def test_ranked_reply_is_refused(text, says, settings):
    with pytest.raises(VoteError, match=says) as e:
        KIND.parse_vote_text(make_poll("ranked_choice", NAMES, **settings), text)
    assert "Carrot, Banana, Apple" in str(e.value)


def test_ambiguous_prefix_is_refused():
    p = make_poll("ranked_choice", ["Apple", "Apricot", "Banana"])
    with pytest.raises(VoteError, match="could mean \u201cApple\u201d \\(1\\) or \u201cApricot\u201d \\(2\\)"):
        KIND.parse_vote_text(p, "ap, banana")


def test_validate_requires_a_proper_ranking():
    p = make_poll("ranked_choice", NAMES)
    assert KIND.validate(p, {C: 3, A: 2}, None) == {C: 3, A: 2}
    for bad in ({C: 3, A: 3}, {C: 2}, {C: 3, A: 1}, {C: 4, A: 3}):
        with pytest.raises(VoteError):
            KIND.validate(p, bad, None)


def test_describe_choices_uses_ordinals():
    p = make_poll("ranked_choice", NAMES)
    assert KIND.describe_choices(p, {C: 3, A: 2}) == "1st Carrot, 2nd Apple"


def test_borda_and_runoff_with_a_transfer():
    p = make_poll("ranked_choice", NAMES)
    ballots = 4 * [[A, B, C]] + 3 * [[B, C, A]] + 2 * [[C, B, A]]
    results = KIND.tally(p, ballots_to_stances(p, ballots))
    assert [r.score_total for r in results.options] == [17, 21, 16]
    assert results.total_score == 54
    assert results.rounds == [
        Round(1, {A: 4, B: 3, C: 2}, continuing=9, exhausted=0, eliminated_id=C),
        Round(2, {A: 4, B: 5}, continuing=9, exhausted=0, winner_id=B),
    ]
    assert results.winner_id == B
    assert results.option(A).voter_count == 9


def test_first_round_majority_wins_outright():
    p = make_poll("ranked_choice", NAMES)
    results = KIND.tally(p, ballots_to_stances(p, [[A], [A, B], [C]]))
    assert len(results.rounds) == 1 and results.winner_id == A


def test_elimination_tie_goes_to_the_previous_round():
    p = make_poll("ranked_choice", ["A", "B", "C", "D"])
    a, b, c, d = 100, 101, 102, 103
    ballots = 4 * [[a]] + 3 * [[b]] + 2 * [[c, b]] + [[d, c, b]]
    results = KIND.tally(p, ballots_to_stances(p, ballots))
    assert [r.score_total for r in results.options] == [16, 20, 11, 4]
    assert [(r.counts, r.eliminated_id, r.winner_id) for r in results.rounds] == [
        ({a: 4, b: 3, c: 2, d: 1}, d, None),
        ({a: 4, b: 3, c: 3}, c, None),  # B and C tie at 3; C had fewer (2 < 3) last round
        ({a: 4, b: 6}, None, b),
    ]


def test_first_round_tie_goes_to_the_lower_borda():
    p = make_poll("ranked_choice", NAMES)
    ballots = 2 * [[A, C]] + [[B, A]] + [[C, B]]
    results = KIND.tally(p, ballots_to_stances(p, ballots))
    assert [r.score_total for r in results.options] == [8, 5, 7]
    assert [(r.counts, r.eliminated_id) for r in results.rounds] == [
        ({A: 2, B: 1, C: 1}, B),  # B and C tie at 1; B has the lower Borda total
        ({A: 3, C: 1}, None),
    ]
    assert results.winner_id == A


def test_full_tie_eliminates_the_later_option_and_counts_exhausted_ballots():
    p = make_poll("ranked_choice", ["A", "B"])
    results = KIND.tally(p, ballots_to_stances(p, [[100], [101]]))
    assert results.rounds == [
        Round(1, {100: 1, 101: 1}, continuing=2, exhausted=0, eliminated_id=101),
        Round(2, {100: 1}, continuing=1, exhausted=1, winner_id=100),
    ]
    assert results.winner_id == 100


def test_no_ballots_no_rounds_no_winner():
    results = KIND.tally(make_poll("ranked_choice", NAMES), [])
    assert results.rounds == [] and results.winner_id is None


def test_instant_runoff_directly():
    rounds, winner = instant_runoff([1, 2, 3], [[3, 1], [2, 1], [1]], {1: 6, 2: 3, 3: 3})
    # all tie at 1; 2 and 3 tie on Borda; 3 is later, so it goes first
    assert [r.eliminated_id for r in rounds] == [3, None]
    assert winner == 1
