"""A proposal's requirements to pass, as pure Python: each at its boundary (exactly at the threshold
passes, one vote short does not), and hypothesis properties of tallies with thresholds."""

from hypothesis import given, settings
from hypothesis import strategies as st

from app.polls import get_type, thresholds
from app.polls.order import option_numbers, options_for
from tests.polls.support import make_poll, stance

AGREE, ABSTAIN, DISAGREE, BLOCK = 100, 101, 102, 103  # option ids of a proposal's four options


def proposal(**settings):
    p = make_poll("proposal", get_type("proposal").default_options(), quorum_percent=None, pass_percent=None,
                  pass_without_blocks=False)
    for k, v in settings.items():
        setattr(p, k, v)
    return p


def tally(p, agree=0, abstain=0, disagree=0, block=0):
    votes = [AGREE] * agree + [ABSTAIN] * abstain + [DISAGREE] * disagree + [BLOCK] * block
    return get_type("proposal").tally(p, [stance({o: 1}) for o in votes])


def met(p, electorate, **votes) -> dict[str, bool]:
    return {r.name: r.met for r in thresholds.requirements(p, tally(p, **votes), electorate)}


def test_a_poll_without_requirements_says_nothing_about_passing():
    p = proposal()
    assert thresholds.requirements(p, tally(p, agree=3), 10) == []
    assert thresholds.verdict([], closed=True) == ""


def test_participation_exactly_at_the_quorum_is_met_and_one_voter_short_is_not():
    p = proposal(quorum_percent=50)
    assert met(p, 10, agree=5) == {"participation": True}  # 5 of 10 is exactly 50%
    assert met(p, 10, agree=4) == {"participation": False}
    assert met(p, 3, agree=2) == {"participation": True}  # 66% ≥ 50%
    assert met(p, 3, agree=1) == {"participation": False}  # 33%
    assert met(p, 0) == {"participation": False}  # nobody voted: no quorum


def test_agree_exactly_at_the_share_is_met_and_one_vote_short_is_not():
    p = proposal(pass_percent=60)
    assert met(p, 10, agree=3, disagree=2) == {"agree": True}  # 3 of 5 is exactly 60%
    assert met(p, 10, agree=2, disagree=2, abstain=1) == {"agree": False}  # abstentions are votes cast
    assert met(p, 10) == {"agree": False}


def test_a_single_block_stops_a_proposal_that_requires_no_blocks():
    p = proposal(pass_without_blocks=True)
    assert met(p, 10, agree=9) == {"no_blocks": True}
    assert met(p, 10, agree=9, block=1) == {"no_blocks": False}


def test_a_process_says_which_of_its_options_agree_and_which_block():
    """Consent: an objection blocks and Consent is the agreement; gradients: a veto blocks."""
    from app.polls.decision_processes import PROCESSES

    consent = PROCESSES["consent"]
    p = make_poll("proposal", consent.option_names(), quorum_percent=None, pass_percent=60,
                  pass_without_blocks=True, process="consent")
    consent_id, concern_id, object_id = (o.id for o in p.options)

    def results(*choices):
        return {r.name: r.met for r in thresholds.requirements(
            p, get_type("proposal").tally(p, [stance({o: 1}) for o in choices]), 10)}

    assert results(consent_id, consent_id, concern_id) == {"agree": True, "no_blocks": True}
    assert results(consent_id, consent_id, object_id) == {"agree": True, "no_blocks": False}
    assert results(consent_id, concern_id, concern_id) == {"agree": False, "no_blocks": True}
    gradients = PROCESSES["gradients"]
    g = make_poll("proposal", gradients.option_names(), quorum_percent=None, pass_percent=None,
                  pass_without_blocks=True, process="gradients")
    veto = g.options[-1].id
    assert [r.met for r in thresholds.requirements(
        g, get_type("proposal").tally(g, [stance({veto: 1})]), 10)] == [False]


def test_the_results_say_plainly_what_each_requirement_asks_and_where_the_votes_stand():
    p = proposal(quorum_percent=50, pass_percent=60, pass_without_blocks=True)
    reqs = thresholds.requirements(p, tally(p, agree=3, disagree=1), 10)
    lines = [thresholds.line(r, closed=False) for r in reqs]
    assert lines == [
        "At least 50% of the 10 eligible voters take part: 4 of 10 voted (40%) — not met yet",
        "At least 60% of the votes cast are Agree: 3 of 4 votes (75%) — met",
        "Nobody blocks: no blocks — met",
    ]
    assert thresholds.verdict(reqs, closed=False).startswith("As the votes stand, it would not pass")
    assert thresholds.verdict(reqs, closed=True) == "Did not pass: not every requirement is met."
    reqs = thresholds.requirements(p, tally(p, agree=5), 10)
    assert thresholds.verdict(reqs, closed=True) == "Passed: every requirement is met."


def test_settings_outside_0_to_100_are_refused():
    assert thresholds.check_settings({"quorum_percent": 101}) and thresholds.check_settings({"pass_percent": -1})
    assert thresholds.check_settings({"quorum_percent": 0, "pass_percent": 100}) == []


votes_st = st.fixed_dictionaries({k: st.integers(0, 12) for k in ("agree", "abstain", "disagree", "block")})


@settings(max_examples=200, deadline=None)
@given(votes=votes_st, quorum=st.integers(0, 100), share=st.integers(0, 100), blocks=st.booleans(),
       extra=st.integers(0, 20))
def test_each_requirement_is_exactly_its_arithmetic(votes, quorum, share, blocks, extra):
    p = proposal(quorum_percent=quorum or None, pass_percent=share or None, pass_without_blocks=blocks)
    voters = sum(votes.values())
    electorate = voters + extra
    reqs = {r.name: r.met for r in thresholds.requirements(p, tally(p, **votes), electorate)}
    if quorum:
        assert reqs["participation"] == (voters > 0 and voters / electorate >= quorum / 100 - 1e-12)
    if share:
        assert reqs["agree"] == (voters > 0 and votes["agree"] * 100 >= share * voters)
    if blocks:
        assert reqs["no_blocks"] == (votes["block"] == 0)
    assert set(reqs) == {n for n, on in (("participation", quorum), ("agree", share), ("no_blocks", blocks)) if on}
    assert thresholds.passes(list(thresholds.requirements(p, tally(p, **votes), electorate))) == all(reqs.values())


@settings(max_examples=200, deadline=None)
@given(votes=votes_st, quorum=st.integers(1, 100), share=st.integers(1, 100), extra=st.integers(0, 20))
def test_one_more_agree_vote_never_undoes_a_met_requirement(votes, quorum, share, extra):
    p = proposal(quorum_percent=quorum, pass_percent=share)
    electorate = sum(votes.values()) + extra + 1
    before = {r.name: r.met for r in thresholds.requirements(p, tally(p, **votes), electorate)}
    more = dict(votes, agree=votes["agree"] + 1)
    after = {r.name: r.met for r in thresholds.requirements(p, tally(p, **more), electorate)}
    assert all(after[name] for name, ok in before.items() if ok)


@settings(max_examples=100, deadline=None)
@given(votes=votes_st, quorum=st.integers(1, 100), extra=st.integers(0, 20))
def test_the_quorum_flips_at_exactly_one_turnout(votes, quorum, extra):
    """Adding voters one by one, participation goes from not met to met once, and never back."""
    p = proposal(quorum_percent=quorum)
    electorate = sum(votes.values()) + extra
    seen = []
    for n in range(electorate + 1):
        seen.append(thresholds.requirements(p, tally(p, agree=n), max(electorate, 1))[0].met)
    assert seen == sorted(seen)  # False…False, True…True


@settings(max_examples=100, deadline=None)
@given(n=st.integers(2, 8), viewer=st.integers(1, 10_000))
def test_a_shuffled_order_is_a_stable_permutation_and_numbers_stay_the_options_own(n, viewer):
    p = make_poll("poll", [f"Option {chr(65 + i)}" for i in range(n)], shuffle_options=True)
    p.id = 7
    order = options_for(p, viewer)
    assert sorted(o.id for o in order) == sorted(o.id for o in p.options)
    assert [o.id for o in options_for(p, viewer)] == [o.id for o in order]  # stable
    assert option_numbers(p) == {o.id: i for i, o in enumerate(p.options, 1)}
    p.shuffle_options = False
    assert options_for(p, viewer) == p.options
