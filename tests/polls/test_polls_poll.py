"""Poll: single or multiple choice between min and max options."""

import pytest

from app.polls import VoteError, get_type
from tests.polls.support import make_poll, stance

FRUIT = ["Apple", "Banana", "Carrot", "Apple pie", "Salt, pepper"]
A, B, C, PIE, SALT = 100, 101, 102, 103, 104
KIND = get_type("poll")


@pytest.mark.parametrize(
    "text, choices, reason",
    [
        ("1", {A}, None),
        ("1, 3", {A, C}, None),
        ("1,3", {A, C}, None),
        ("1 3", {A, C}, None),
        ("#1; #3", {A, C}, None),
        ("1 and 3", {A, C}, None),
        ("banana", {B}, None),
        ("BANANA, carrot", {B, C}, None),
        ("Apple", {A}, None),  # exact name wins over the prefix of "Apple pie"
        ("apple pie", {PIE}, None),
        ("Salt, pepper", {SALT}, None),  # a name containing the separator
        ("salt, pepper, 1", {SALT, A}, None),
        ("ban, car", {B, C}, None),
        ("1, 3: the cheap ones", {A, C}, "the cheap ones"),
        ("1, 3\nthe cheap ones", {A, C}, "the cheap ones"),
        ("1, 1", {A}, None),
    ],
)
def test_multiple_choice_reply_is_read(text, choices, reason):
    p = make_poll("poll", FRUIT, max_choices=3)
    vote = KIND.parse_vote_text(p, text)
    assert vote.choices == dict.fromkeys(choices, 1)
    assert vote.reason == reason


@pytest.mark.parametrize(
    "text, says",
    [
        ("app", "could mean"),
        ("ap", "could mean"),
        ("6", "no option 6"),
        ("1, 2, 3, 4", "between 1 and 3 options"),
        ("durian", "isn't one of the options"),
        ("1, durian", "isn't one of the options"),
        ("none", "isn't one of the options"),
    ],
)
def test_multiple_choice_reply_is_refused(text, says):
    p = make_poll("poll", FRUIT, max_choices=3)
    with pytest.raises(VoteError, match=says) as e:
        KIND.parse_vote_text(p, text)
    assert "1. Apple" in str(e.value) and "Separate your choices with commas" in str(e.value)


def test_single_choice_by_default():
    p = make_poll("poll", FRUIT)
    assert KIND.parse_vote_text(p, "2").choices == {B: 1}
    with pytest.raises(VoteError, match="one option"):
        KIND.parse_vote_text(p, "1, 2")


def test_minimum_choices_enforced():
    p = make_poll("poll", FRUIT, min_choices=2, max_choices=2)
    with pytest.raises(VoteError, match="exactly 2 options"):
        KIND.validate(p, {A: 1}, None)
    assert KIND.validate(p, {A: 1, B: 1}, None) == {A: 1, B: 1}


def test_none_of_the_above_when_allowed():
    p = make_poll("poll", FRUIT, allow_none_of_the_above=True)
    assert KIND.parse_vote_text(p, "None of the above").choices == {}
    assert KIND.describe_choices(p, {}) == "None of the above"
    assert "none" in KIND.vote_instructions(p)
    with pytest.raises(VoteError):
        KIND.validate(make_poll("poll", FRUIT), {}, None)


def test_tally_counts_voters_per_option():
    p = make_poll("poll", FRUIT[:3], max_choices=2, allow_none_of_the_above=True)
    stances = [stance({A: 1, C: 1}), stance({A: 1}), stance({B: 1}), stance({})]
    results = KIND.tally(p, stances)
    assert results.voter_count == 4
    assert [(r.voter_count, r.percent) for r in results.options] == [(2, 50.0), (1, 25.0), (1, 25.0)]


def test_instructions_show_an_example_with_real_names():
    text = KIND.vote_instructions(make_poll("poll", FRUIT, max_choices=2))
    assert "1, 2" in text and "Apple, Banana" in text


def test_describe_lists_names_in_display_order():
    p = make_poll("poll", FRUIT, max_choices=3)
    assert KIND.describe_choices(p, {C: 1, A: 1}) == "Apple, Carrot"
