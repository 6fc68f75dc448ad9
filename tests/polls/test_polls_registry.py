"""The registry, each type's metadata, and creation-form settings checks."""

import pytest

from app.polls import POLL_TYPES, PollType, for_poll, get_type

NINE = ["proposal", "check", "count", "question", "poll", "dot_vote", "score", "ranked_choice", "meeting"]


def test_all_nine_types_are_registered():
    assert sorted(POLL_TYPES) == sorted(NINE)
    for name in NINE:
        kind = get_type(name)
        assert isinstance(kind, PollType) and kind.name == name
        assert kind.label and kind.description and kind.default_closing_days > 0


def test_unknown_type_is_a_key_error():
    with pytest.raises(KeyError, match="Unknown poll type"):
        get_type("referendum")


def test_for_poll_reads_the_poll_type():
    class P:
        poll_type = "score"

    assert for_poll(P()).name == "score"


@pytest.mark.parametrize(
    "name, options, fixed",
    [
        ("proposal", ["Agree", "Abstain", "Disagree", "Block"], True),
        ("check", ["Looks good", "Not sure", "Concerned"], True),
        ("count", ["In", "Out"], True),
        ("question", [], False),
        ("poll", [], False),
        ("dot_vote", [], False),
        ("score", [], False),
        ("ranked_choice", [], False),
        ("meeting", [], False),
    ],
)
def test_default_options(name, options, fixed):
    kind = get_type(name)
    assert kind.default_options() == options
    assert kind.fixed_options is fixed


@pytest.mark.parametrize("name", ["proposal", "check", "count"])
def test_fixed_types_are_valid_with_their_defaults(name):
    assert get_type(name).validate_settings({}) == []


@pytest.mark.parametrize(
    "name, settings, error",
    [
        ("poll", {"options": ["A"]}, "at least 2 options"),
        ("dot_vote", {"options": ["A"], "dots_per_person": 8}, "at least 2 options"),
        ("score", {"options": ["A"]}, "at least 2 options"),
        ("ranked_choice", {"options": ["A"]}, "at least 2 options"),
        ("meeting", {"options": []}, "at least 1 option"),
        ("poll", {"options": ["A", "B"], "min_choices": 2, "max_choices": 1}, "can't be less than the minimum"),
        ("poll", {"options": ["A", "B"], "min_choices": 3, "max_choices": 3}, "more than the number of options"),
        ("poll", {"options": ["A", "B"], "max_choices": 0}, "at least 1"),
        ("dot_vote", {"options": ["A", "B"], "dots_per_person": 0}, "at least 1 dot"),
        ("score", {"options": ["A", "B"], "min_score": 5, "max_score": 5}, "more than the minimum"),
        ("score", {"options": ["A", "B"], "min_score": 5, "max_score": 1}, "more than the minimum"),
        ("score", {"options": ["A", "B"], "min_score": 0, "max_score": 5000}, "too wide"),
        ("ranked_choice", {"options": ["A", "B"], "minimum_rank": 3}, "more than the number of options"),
        ("ranked_choice", {"options": ["A", "B"], "minimum_rank": 0}, "at least 1"),
        ("count", {"target": 0}, "at least 1"),
        ("question", {"options": ["A"]}, "doesn't have options"),
        ("poll", {"options": ["A", "a "]}, "same name"),
        ("poll", {"options": ["A", ""]}, "blank"),
        ("poll", {"options": ["A", "2"]}, "just a number"),
        ("poll", {"options": ["A", "B"], "reason_mode": "sometimes"}, "off, optional or required"),
        ("poll", {"options": ["A", "B"], "reason_max_length": 0}, "at least 1"),
    ],
)
def test_bad_settings_are_explained(name, settings, error):
    errors = get_type(name).validate_settings(settings)
    assert any(error in e for e in errors), errors


@pytest.mark.parametrize(
    "name, settings",
    [
        ("poll", {"options": ["A", "B", "C"], "min_choices": 1, "max_choices": 2}),
        ("dot_vote", {"options": ["A", "B"], "dots_per_person": 10}),
        ("score", {"options": ["A", "B"], "min_score": -2, "max_score": 2}),
        ("ranked_choice", {"options": ["A", "B", "C"], "minimum_rank": 2}),
        ("meeting", {"options": ["Mon 10:00"]}),
        ("question", {"options": [], "reason_mode": "required"}),
        ("count", {"target": 12}),
    ],
)
def test_good_settings_pass(name, settings):
    assert get_type(name).validate_settings(settings) == []
