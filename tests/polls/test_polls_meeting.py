"""Meeting: yes / maybe / no per slot, best slot, time order."""

from datetime import datetime, timedelta, timezone

import pytest

from app.polls import VoteError, get_type
from tests.polls.support import make_poll, stance

KIND = get_type("meeting")
MON = datetime(2025, 3, 3, 10, tzinfo=timezone.utc)


def meeting(count=4, **settings):
    p = make_poll("meeting", [f"Slot {n}" for n in range(1, count + 1)], **settings)
    for i, o in enumerate(p.options):
        o.starts_at, o.duration_minutes = MON + timedelta(days=i), 60
    return p


S1, S2, S3, S4 = 100, 101, 102, 103


@pytest.mark.parametrize(
    "text, choices",
    [
        ("yes 1, 3; maybe 2", {S1: 2, S2: 1, S3: 2, S4: 0}),
        ("Yes: 1, 3. Maybe: 2", {S1: 2, S2: 1, S3: 2, S4: 0}),
        ("yes 1 3 maybe 2", {S1: 2, S2: 1, S3: 2, S4: 0}),
        ("yes #1, #3, maybe #2", {S1: 2, S2: 1, S3: 2, S4: 0}),
        ("if need be 4", {S1: 0, S2: 0, S3: 0, S4: 1}),
        ("1, 3", {S1: 2, S2: 0, S3: 2, S4: 0}),
        ("1: yes, 2: maybe", {S1: 2, S2: 1, S3: 0, S4: 0}),
        ("Slot 1: yes, Slot 2: maybe, Slot 3: no, Slot 4: no", {S1: 2, S2: 1, S3: 0, S4: 0}),
        ("yes all", {S1: 2, S2: 2, S3: 2, S4: 2}),
        ("maybe all; no 2", {S1: 1, S2: 0, S3: 1, S4: 1}),
        ("no", {S1: 0, S2: 0, S3: 0, S4: 0}),
        ("YES 2", {S1: 0, S2: 2, S3: 0, S4: 0}),
    ],
)
def test_meeting_reply_is_read(text, choices):
    assert KIND.parse_vote_text(meeting(), text).choices == choices


@pytest.mark.parametrize(
    "text, says",
    [
        ("yes", "which slots"),
        ("yes 5", "no slot 5"),
        ("yes 1; maybe 1", "two different answers"),
        ("yes 1 please", "Couldn't read \u201cplease\u201d"),
        ("tuesday", "Couldn't read"),
        ("1 yes 2", "no yes, maybe or no after it"),
    ],
)
def test_meeting_reply_is_refused(text, says):
    with pytest.raises(VoteError, match=says) as e:
        KIND.parse_vote_text(meeting(), text)
    assert "yes 1, 3; maybe 2" in str(e.value)


def test_single_slot_accepts_a_bare_yes():
    assert KIND.parse_vote_text(meeting(1), "Yes!").choices == {S1: 2}


def test_reason_is_on_the_following_lines():
    vote = KIND.parse_vote_text(meeting(), "yes 1\nI'm away on Tuesday")
    assert vote.reason == "I'm away on Tuesday"


def test_validate_fills_unanswered_slots_with_no():
    assert KIND.validate(meeting(), {S2: 2}, None) == {S1: 0, S2: 2, S3: 0, S4: 0}
    with pytest.raises(VoteError):
        KIND.validate(meeting(), {S2: 3}, None)


def test_tally_counts_answers_and_picks_the_best_slot():
    p = meeting()
    stances = [
        stance({S1: 2, S2: 1, S3: 2, S4: 0}),
        stance({S1: 1, S2: 2, S3: 2, S4: 0}),
        stance({S1: 2, S2: 0, S3: 1}),  # an older vote without slot 4: counts as no
    ]
    results = KIND.tally(p, stances)
    assert [(r.yes, r.maybe, r.no) for r in results.options] == [(2, 1, 0), (1, 1, 1), (2, 1, 0), (0, 0, 3)]
    assert results.best_option_id == S1  # S1 and S3 tie on yes and maybe; S1 is earlier
    assert results.option(S1).percent == pytest.approx(200 / 3)


def test_best_slot_tie_breaks_by_start_time_not_list_order():
    p = meeting(2)
    p.options[0].starts_at = MON + timedelta(days=7)  # listed first, but later in time
    results = KIND.tally(p, [stance({S1: 2, S2: 2})])
    assert results.best_option_id == S2


def test_no_votes_no_best_slot():
    assert KIND.tally(meeting(), []).best_option_id is None


def test_a_meeting_vote_is_described_with_its_times_in_the_readers_zone():
    described = KIND.describe_choices(meeting(3), {S1: 2, S2: 1}, "Europe/Berlin")
    assert described == ("Mon 3 Mar 2025, 11:00–12:00 (Europe/Berlin): yes; "
                         "Tue 4 Mar 2025, 11:00–12:00 (Europe/Berlin): maybe; "
                         "Wed 5 Mar 2025, 11:00–12:00 (Europe/Berlin): no")
    assert "Slot" not in KIND.describe_choices(meeting(3, time_zone="UTC"), {S1: 2})


def test_a_slot_number_past_the_only_slot_is_refused_in_the_singular():
    with pytest.raises(VoteError, match="There is no slot 2; the only slot is 1."):
        KIND.parse_vote_text(meeting(1), "yes 2")
    with pytest.raises(VoteError, match="There is no slot 5; the slots are numbered 1 to 4."):
        KIND.parse_vote_text(meeting(4), "yes 5")
