"""When a digest is due: the member's own hour in their own time zone, across DST changes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from app.services.digests import due_period, find_due
from tests.factories import GroupFactory, MembershipFactory, UserFactory


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def daily(zone: str, hour: int, now: datetime):
    return due_period(frequency="daily", weekday=0, hour=hour, time_zone=zone, now=now)


@pytest.mark.parametrize("now, expected", [
    # Saturday 28 March 2026, still winter time in Berlin (UTC+1): 07:00 local is 06:00 UTC.
    (utc(2026, 3, 28, 5, 59), None),
    (utc(2026, 3, 28, 6, 0), "daily:2026-03-28"),
    # Sunday 29 March, clocks go forward at 02:00: 07:00 local is now 05:00 UTC.
    (utc(2026, 3, 29, 4, 59), None),
    (utc(2026, 3, 29, 5, 0), "daily:2026-03-29"),
    # Sunday 25 October, clocks go back at 03:00: 07:00 local is 06:00 UTC again.
    (utc(2026, 10, 25, 5, 59), None),
    (utc(2026, 10, 25, 6, 0), "daily:2026-10-25"),
    # Late in the local day it is still today's digest; just after local midnight it is tomorrow's, not yet due.
    (utc(2026, 10, 25, 22, 59), "daily:2026-10-25"),
    (utc(2026, 10, 25, 23, 0), None),
])
def test_a_berlin_members_seven_oclock_follows_summer_time(now, expected):
    assert daily("Europe/Berlin", 7, now) == expected


def test_an_hour_skipped_by_the_spring_change_is_served_at_the_next_local_hour():
    # 02:00 does not exist in Berlin on 29 March 2026: 01:59 CET is followed by 03:00 CEST.
    assert daily("Europe/Berlin", 2, utc(2026, 3, 29, 0, 59)) is None
    assert daily("Europe/Berlin", 2, utc(2026, 3, 29, 1, 0)) == "daily:2026-03-29"


def test_an_hour_that_happens_twice_in_autumn_has_one_period():
    # 02:00-03:00 happens twice in Berlin on 25 October 2026 (00:00 and 01:00 UTC).
    first = daily("Europe/Berlin", 2, utc(2026, 10, 25, 0, 0))
    second = daily("Europe/Berlin", 2, utc(2026, 10, 25, 1, 0))
    assert first == second == "daily:2026-10-25"


@pytest.mark.parametrize("now, expected", [
    (utc(2026, 3, 7, 11, 59), None),  # Saturday, EST (UTC-5): 07:00 is 12:00 UTC
    (utc(2026, 3, 7, 12, 0), "daily:2026-03-07"),
    (utc(2026, 3, 8, 10, 59), None),  # Sunday 8 March, EDT (UTC-4): 07:00 is 11:00 UTC
    (utc(2026, 3, 8, 11, 0), "daily:2026-03-08"),
    (utc(2026, 11, 1, 11, 0), None),  # Sunday 1 November, back to EST
    (utc(2026, 11, 1, 12, 0), "daily:2026-11-01"),
    # 02:00 UTC on 27 November is still the evening of the 26th in New York.
    (utc(2026, 11, 27, 2, 0), "daily:2026-11-26"),
])
def test_a_new_york_members_seven_oclock_follows_daylight_saving(now, expected):
    assert daily("America/New_York", 7, now) == expected


def test_the_period_is_the_members_local_date_not_utcs():
    # 20:00 UTC on 26 November is already 27 November, 09:00 in Auckland.
    assert daily("Pacific/Auckland", 8, utc(2026, 11, 26, 20, 0)) == "daily:2026-11-27"


def test_a_weekly_digest_comes_on_the_members_weekday_and_is_caught_up_within_the_week():
    def weekly(now):  # Wednesdays at 09:00, Berlin time
        return due_period(frequency="weekly", weekday=2, hour=9, time_zone="Europe/Berlin", now=now)

    assert weekly(utc(2026, 11, 24, 12, 0)) is None  # Tuesday
    assert weekly(utc(2026, 11, 25, 7, 59)) is None  # Wednesday 08:59 in Berlin
    assert weekly(utc(2026, 11, 25, 8, 0)) == "weekly:2026-W48"  # Wednesday 09:00
    assert weekly(utc(2026, 11, 27, 3, 0)) == "weekly:2026-W48"  # scheduler was down: Friday still counts
    assert weekly(utc(2026, 11, 30, 12, 0)) is None  # next Monday: a new week, its Wednesday to come
    assert weekly(utc(2026, 12, 2, 8, 0)) == "weekly:2026-W49"


def test_daily_and_weekly_members_and_members_without_digests(clean_app):
    group = GroupFactory()
    daily_member = UserFactory(digest_frequency="daily", digest_hour=7, time_zone="Europe/Berlin")
    weekly_member = UserFactory(digest_frequency="weekly", digest_weekday=3, digest_hour=7, time_zone="Europe/Berlin")
    nobody = UserFactory(digest_frequency="off")
    digest_group_only = UserFactory(digest_frequency="off", digest_hour=7, time_zone="Europe/Berlin")
    for user in (daily_member, weekly_member, nobody):
        MembershipFactory(group=group, user=user)
    MembershipFactory(group=group, user=digest_group_only, volume="digest")

    wednesday = {(d.user_id, d.period_key) for d in find_due(utc(2026, 11, 25, 6, 0))}
    assert wednesday == {(daily_member.id, "daily:2026-11-25"), (digest_group_only.id, "daily:2026-11-25")}
    thursday = {(d.user_id, d.period_key) for d in find_due(utc(2026, 11, 26, 6, 0))}
    assert thursday == {(daily_member.id, "daily:2026-11-26"), (weekly_member.id, "weekly:2026-W48"),
                        (digest_group_only.id, "daily:2026-11-26")}


def test_deleted_and_suspended_members_are_never_due(clean_app):
    from app.models import utcnow

    group = GroupFactory()
    gone = UserFactory(digest_frequency="daily", digest_hour=0, deleted_at=utcnow(), email=None)
    bouncing = UserFactory(digest_frequency="daily", digest_hour=0, email_suspended_at=utcnow())
    for user in (gone, bouncing):
        MembershipFactory(group=group, user=user)
    assert find_due(utc(2026, 11, 26, 12, 0)) == []
