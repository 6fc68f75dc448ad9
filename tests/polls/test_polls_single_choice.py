"""Proposal, check and count: one choice each, reason after a colon or below."""

import pytest

from app.polls import VoteError, get_type
from tests.polls import support
from tests.polls.support import stance


def make_poll(poll_type, names=None, **settings):
    """Single-choice types default to their fixed options."""
    names = get_type(poll_type).default_options() if names is None else names
    return support.make_poll(poll_type, names, **settings)


AGREE, ABSTAIN, DISAGREE, BLOCK = 100, 101, 102, 103


@pytest.mark.parametrize(
    "text, choice, reason",
    [
        ("agree", AGREE, None),
        ("AGREE", AGREE, None),
        ("  Agree.  ", AGREE, None),
        ("\u201cAgree\u201d", AGREE, None),
        ("*Agree*", AGREE, None),
        ("\n\n  disagree\n", DISAGREE, None),
        ("disagree: too costly", DISAGREE, "too costly"),
        ("Disagree - too costly", DISAGREE, "too costly"),
        ("Disagree \u2014 too costly", DISAGREE, "too costly"),
        ("Disagree, too costly", DISAGREE, "too costly"),
        ("Disagree. Too costly.", DISAGREE, "Too costly."),
        ("disagree: too costly\nand too late", DISAGREE, "too costly\n\nand too late"),
        ("block\n\nThis breaks our constitution.", BLOCK, "This breaks our constitution."),
        ("2", ABSTAIN, None),
        ("#2", ABSTAIN, None),
        ("2.", ABSTAIN, None),
        ("2)", ABSTAIN, None),
        ("option 4", BLOCK, None),
        ("2: not my area", ABSTAIN, "not my area"),
        ("dis", DISAGREE, None),
        ("abs", ABSTAIN, None),
        ("b", BLOCK, None),
        ("yes", AGREE, None),
        ("No", DISAGREE, None),
        ("+1", AGREE, None),
        ("agree\u00a0", AGREE, None),
    ],
)
def test_proposal_reply_is_read(text, choice, reason):
    vote = get_type("proposal").parse_vote_text(make_poll("proposal"), text)
    assert vote.choices == {choice: 1}
    assert vote.reason == reason


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "empty"),
        ("   \n  ", "empty"),
        ("a", "could mean \u201cAgree\u201d (1) or \u201cAbstain\u201d (2)"),
        ("maybe", "isn't one of the options"),
        ("5", "no option 5"),
        ("0", "no option 0"),
        ("I agree with most of it", "isn't one of the options"),
        ("agree, disagree", "only one option"),
        ("2, 3", "only one option"),
    ],
)
def test_proposal_reply_is_refused_with_help(text, says):
    with pytest.raises(VoteError) as e:
        get_type("proposal").parse_vote_text(make_poll("proposal"), text)
    message = str(e.value)
    assert says in message
    # The refusal is emailed back, so it lists the options and shows an example.
    assert "1. Agree" in message and "4. Block" in message
    assert "For example" in message and "Agree: " in message


def test_a_required_reason_is_asked_for():
    p = make_poll("proposal", reason_mode="required")
    with pytest.raises(VoteError, match="reason"):
        get_type("proposal").parse_vote_text(p, "agree")
    assert get_type("proposal").parse_vote_text(p, "agree: fine").reason == "fine"


def test_when_reasons_are_off_extra_text_is_handed_back_not_dropped():
    p = make_poll("proposal", reason_mode="off")
    vote = get_type("proposal").parse_vote_text(p, "agree\nsee you Tuesday")
    assert vote.choices == {AGREE: 1}
    assert vote.reason is None
    assert vote.extra_text == "see you Tuesday"


def test_a_reason_longer_than_allowed_is_refused():
    p = make_poll("proposal", reason_max_length=10)
    with pytest.raises(VoteError, match="at most 10"):
        get_type("proposal").parse_vote_text(p, "agree: " + "x" * 11)


def test_renamed_options_lose_their_synonyms():
    p = make_poll("proposal", ["Support", "Oppose"])
    with pytest.raises(VoteError):
        get_type("proposal").parse_vote_text(p, "yes")
    assert get_type("proposal").parse_vote_text(p, "supp").choices == {100: 1}


def test_validate_wants_exactly_one_known_option():
    kind, p = get_type("proposal"), make_poll("proposal")
    assert kind.validate(p, {AGREE: 1}, None) == {AGREE: 1}
    assert kind.validate(p, {str(AGREE): "1"}, None) == {AGREE: 1}  # as a JSON column gives it back
    for bad in ({}, {AGREE: 1, BLOCK: 1}, {999: 1}, {AGREE: 0}):
        with pytest.raises(VoteError):
            kind.validate(p, bad, None)


def test_proposal_tally_counts_voters_and_flags_a_block():
    p = make_poll("proposal")
    stances = [stance({AGREE: 1}), stance({AGREE: 1}), stance({DISAGREE: 1}), stance({BLOCK: 1})]
    results = get_type("proposal").tally(p, stances)
    assert results.voter_count == 4
    assert [(r.name, r.voter_count, r.percent) for r in results.options] == [
        ("Agree", 2, 50.0), ("Abstain", 0, 0.0), ("Disagree", 1, 25.0), ("Block", 1, 25.0),
    ]
    assert results.blocked is True


def test_proposal_without_blocks_is_not_blocked():
    results = get_type("proposal").tally(make_poll("proposal"), [stance({AGREE: 1})])
    assert results.blocked is False


def test_empty_tally_has_zero_percentages():
    results = get_type("proposal").tally(make_poll("proposal"), [])
    assert results.voter_count == 0 and all(r.percent == 0 for r in results.options)


@pytest.mark.parametrize(
    "text, choice",
    [("looks good", 100), ("LGTM", 100), ("not sure", 101), ("not", 101), ("2", 101),
     ("concerned: the budget", 102), ("Concern", 102)],
)
def test_check_reply_is_read(text, choice):
    assert get_type("check").parse_vote_text(make_poll("check"), text).choices == {choice: 1}


def test_check_is_never_blocked():
    results = get_type("check").tally(make_poll("check"), [stance({102: 1})])
    assert results.blocked is False
    assert results.option(102).voter_count == 1


@pytest.mark.parametrize(
    "text, choice",
    [("in", 100), ("In!", 100), ("I'm in", 100), ("i\u2019m in", 100), ("count me in", 100),
     ("out", 101), ("2", 101), ("out: away that week", 101), ("no", 101)],
)
def test_count_reply_is_read(text, choice):
    assert get_type("count").parse_vote_text(make_poll("count"), text).choices == {choice: 1}


def test_count_tally_reports_progress_towards_the_target():
    p = make_poll("count", target=4)
    stances = [stance({100: 1}), stance({100: 1}), stance({100: 1}), stance({101: 1})]
    results = get_type("count").tally(p, stances)
    assert results.target == 4
    assert results.progress == 0.75
    assert results.option(100).voter_count == 3


def test_count_without_target_has_no_progress():
    results = get_type("count").tally(make_poll("count"), [stance({100: 1})])
    assert results.target is None and results.progress is None


@pytest.mark.parametrize("kind", ["proposal", "check", "count"])
def test_describe_and_instructions_use_option_names(kind):
    t, p = get_type(kind), make_poll(kind)
    first = p.options[0].name
    assert t.describe_choices(p, {100: 1}) == first
    assert f"{first}: " in t.vote_instructions(p)
