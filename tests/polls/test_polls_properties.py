"""Property tests: conservation, bounds, runoff invariants, round trips, and no crashes on any text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from app.polls import POLL_TYPES, VoteError, get_type
from app.polls.grammar import normalise_text
from app.polls.ranked_choice import instant_runoff
from tests.polls.support import make_poll, stance

CHOICE_TYPES = sorted(set(POLL_TYPES) - {"question"})

# Option names a member could plausibly type: words, unique ignoring case, never just a number.
word = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", min_size=1, max_size=8)
names_st = st.lists(
    st.lists(word, min_size=1, max_size=3).map(" ".join), min_size=2, max_size=6,
    unique_by=lambda n: n.casefold(),
)


@st.composite
def polls(draw, poll_type=None):
    """A poll of any type (or `poll_type`) with settings drawn within what the creation form allows."""
    kind = poll_type or draw(st.sampled_from(CHOICE_TYPES))
    names = get_type(kind).default_options() if get_type(kind).fixed_options else draw(names_st)
    n = len(names)
    extra = {}
    if kind == "poll":
        low = draw(st.integers(1, n))
        extra = dict(min_choices=low, max_choices=draw(st.integers(low, n)),
                     allow_none_of_the_above=draw(st.booleans()))
    elif kind == "dot_vote":
        extra = dict(dots_per_person=draw(st.integers(1, 20)))
    elif kind == "score":
        low = draw(st.integers(-5, 5))
        extra = dict(min_score=low, max_score=draw(st.integers(low + 1, low + 10)))
    elif kind == "ranked_choice":
        extra = dict(minimum_rank=draw(st.integers(1, n)))
    return make_poll(kind, names, **extra)


@st.composite
def raw_choices(draw, p):
    """Any mapping of (mostly) real option ids to small scores — valid or not."""
    ids = [o.id for o in p.options] + [999]
    return draw(st.dictionaries(st.sampled_from(ids), st.integers(-3, 25), max_size=len(ids)))


@settings(max_examples=300)
@given(st.data())
def test_validate_only_raises_vote_error_and_tally_conserves_entries(data):
    p = data.draw(polls())
    kind = get_type(p.poll_type)
    accepted = []
    for _ in range(data.draw(st.integers(0, 8))):
        try:
            accepted.append(kind.validate(p, data.draw(raw_choices(p)), None))
        except VoteError:
            pass
    results = kind.tally(p, [stance(c) for c in accepted])
    assert results.voter_count == len(accepted)
    assert sum(r.voter_count for r in results.options) == sum(len(c) for c in accepted)
    assert sum(r.score_total for r in results.options) == sum(sum(c.values()) for c in accepted)
    assert results.total_score == sum(r.score_total for r in results.options)
    assert all(0 <= r.percent <= 100 for r in results.options) or p.poll_type == "score"


@given(st.data())
def test_dot_votes_never_exceed_the_allowance(data):
    p = data.draw(polls("dot_vote"))
    try:
        choices = get_type("dot_vote").validate(p, data.draw(raw_choices(p)), None)
    except VoteError:
        return
    assert 0 < sum(choices.values()) <= p.dots_per_person
    assert all(v > 0 for v in choices.values())


@given(st.data())
def test_score_bounds_are_enforced(data):
    p = data.draw(polls("score"))
    raw = data.draw(raw_choices(p))
    ids = {o.id for o in p.options}
    ok = set(raw) == ids and all(p.min_score <= v <= p.max_score for v in raw.values())
    try:
        assert get_type("score").validate(p, raw, None) == raw and ok
    except VoteError:
        assert not ok


@st.composite
def ranked_votes(draw):
    p = draw(polls("ranked_choice"))
    n = len(p.options)
    ballots = draw(st.lists(st.permutations([o.id for o in p.options]).flatmap(
        lambda perm: st.integers(p.minimum_rank, n).map(lambda k: perm[:k])), max_size=12))
    return p, ballots


@given(ranked_votes())
def test_ranked_choice_borda_and_runoff_invariants(vote):
    p, ballots = vote
    n = len(p.options)
    kind = get_type("ranked_choice")
    stances = [stance(kind.validate(p, {o: n - i for i, o in enumerate(b)}, None)) for b in ballots]
    results = kind.tally(p, stances)
    for row in results.options:
        assert row.score_total == sum(n - b.index(row.option_id) for b in ballots if row.option_id in b)
    eliminated = [r.eliminated_id for r in results.rounds if r.eliminated_id is not None]
    assert len(eliminated) == len(set(eliminated)) and len(results.rounds) <= n
    for r in results.rounds:
        assert sum(r.counts.values()) + r.exhausted == len(ballots) == r.continuing + r.exhausted
    if ballots:
        assert results.winner_id in {o.id for o in p.options}
        assert results.winner_id not in eliminated
        final = results.rounds[-1]
        assert final.counts[results.winner_id] * 2 > final.continuing
        firsts = [b[0] for b in ballots]
        top = max(set(firsts), key=firsts.count)
        if firsts.count(top) * 2 > len(ballots):  # a first-round majority wins outright
            assert results.winner_id == top and len(results.rounds) == 1
    else:
        assert results.winner_id is None and results.rounds == []


@given(st.lists(st.lists(st.sampled_from([1, 2, 3, 4]), unique=True), max_size=10))
def test_runoff_is_deterministic_whatever_the_ballot_order(ballots):
    borda = {o: sum(4 - b.index(o) for b in ballots if o in b) for o in (1, 2, 3, 4)}
    forward = instant_runoff([1, 2, 3, 4], ballots, borda)
    backward = instant_runoff([1, 2, 3, 4], list(reversed(ballots)), borda)
    assert forward == backward


# --- email grammar ---------------------------------------------------------

noisy_text = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "Cc")), max_size=80
) | st.lists(
    st.sampled_from(["yes", "no", "maybe", "all", "1", "2", "#3", "=", ":", ",", ";", "\n", " ", "-4",
                     "agree", "\u201c", "Apple", "and", "then", ">", "1st", "99999999", "4/5", "."]),
    max_size=12,
).map("".join)


@settings(max_examples=400)
@given(st.data(), noisy_text)
def test_parse_vote_text_only_ever_raises_vote_error(data, text):
    kind = data.draw(st.sampled_from(sorted(POLL_TYPES)))
    p = data.draw(polls(kind)) if kind != "question" else make_poll("question", [])
    if kind == "meeting":
        p = make_poll("meeting", [f"slot {i}" for i in range(data.draw(st.integers(1, 5)))])
    try:
        vote = get_type(kind).parse_vote_text(p, text)
    except VoteError as e:
        assert str(e).strip()
        return
    # Whatever is accepted is already a valid vote.
    assert get_type(kind).validate(p, vote.choices, vote.reason) == vote.choices


def render(p, choices, by_name, shout):
    """Write `choices` the way a member would reply, by option number or name."""
    options = sorted(p.options, key=lambda o: o.priority)
    ref = {o.id: (o.name.upper() if shout else o.name) if by_name else str(n) for n, o in enumerate(options, 1)}
    kind = p.poll_type
    if kind in ("proposal", "check", "count", "poll"):
        return ", ".join(ref[o.id] for o in options if o.id in choices) or "none"
    if kind == "score":
        return ", ".join(f"{ref[i]}={v}" for i, v in choices.items())
    if kind == "dot_vote":
        return "\n".join(f"{ref[i]}: {v}" for i, v in choices.items())
    if kind == "ranked_choice":
        return " > ".join(ref[i] for i in sorted(choices, key=choices.get, reverse=True))
    if kind == "meeting":
        n = {o.id: str(k) for k, o in enumerate(options, 1)}
        yes = [n[i] for i, v in choices.items() if v == 2]
        maybe = [n[i] for i, v in choices.items() if v == 1]
        parts = ([f"yes {', '.join(yes)}"] if yes else []) + ([f"maybe {', '.join(maybe)}"] if maybe else [])
        return "; ".join(parts) or "no"
    raise AssertionError(kind)


@settings(max_examples=300)
@given(st.data(), st.booleans(), st.booleans(), st.text("abc .\n", max_size=20))
def test_a_valid_vote_written_out_reads_back_the_same(data, by_name, shout, reason):
    p = data.draw(polls())
    kind = get_type(p.poll_type)
    try:
        choices = kind.validate(p, data.draw(raw_choices(p)), None)
    except VoteError:
        return
    if p.poll_type == "meeting":
        by_name = False
    reason = normalise_text(reason).strip() or None  # trailing spaces on a line don't survive mail anyway
    text = render(p, choices, by_name, shout) + (f"\n\n{reason}" if reason else "")
    vote = kind.parse_vote_text(p, text)
    assert vote.choices == choices
    assert vote.reason == reason
