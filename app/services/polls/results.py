"""The results as a member may see them (hidden until voted or closed, anonymous or named)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ... import policy
from ...extensions import db
from ...i18n import _
from ...models import Participation, Poll, Stance, StanceChoice, User
from ...models.users import name_of
from ...polls import Results, get_type, thresholds
from .reminders import electorate_ids


@dataclass
class VoterRow:
    name: str
    choice: str
    reason: str | None
    choices: dict = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass
class PollResults:
    """What one person may see of a poll's results."""

    visible: bool
    hidden_reason: str = ""
    results: Results | None = None
    voters: list[VoterRow] = field(default_factory=list)  # who chose what (never for anonymous polls)
    anonymous_reasons: list[str] = field(default_factory=list)
    non_voters: list[User] = field(default_factory=list)  # poll admins only
    undecided_count: int = 0
    electorate_count: int = 0
    voter_count: int = 0
    # Proposals with a participation quorum: whether it is met, shown even while the results are hidden.
    participation: list = field(default_factory=list)


def hidden_reason(poll: Poll) -> str:
    if poll.anonymous:
        return _("This poll is anonymous: its votes are counted when it closes.")
    if poll.hide_results == "until_vote":
        return _("Results are hidden until you vote.")
    return _("Results are hidden until the poll closes.")


def results_for(user, poll: Poll) -> PollResults:
    """The results this person may see; hidden results stay hidden in every output."""
    electorate = electorate_ids(poll)
    voted_ids = set(db.session.scalars(select(Participation.user_id).where(Participation.poll_id == poll.id)))
    voter_count = len(voted_ids)
    undecided = len([i for i in electorate if i not in voted_ids])
    out = PollResults(visible=policy.can_see_results(user, poll), electorate_count=len(electorate),
                      undecided_count=undecided, voter_count=voter_count)
    if policy.can_see_undecided(user, poll):
        missing = [i for i in electorate if i not in voted_ids]
        if missing:
            out.non_voters = list(db.session.scalars(select(User).where(User.id.in_(missing)).order_by(User.name)))
    if thresholds.has_requirements(poll):  # the turnout is no secret ("6 of 10 voted"); the counts may be
        out.participation = [r for r in thresholds.requirements(poll, Results(poll.poll_type, voter_count), len(electorate))
                             if r.name == "participation"]
    if not out.visible:
        out.hidden_reason = hidden_reason(poll)
        return out
    kind = get_type(poll.poll_type)
    stances, by_stance, plain = _latest_stances(poll)
    out.results = kind.tally(poll, plain)
    out.results.requirements = thresholds.requirements(poll, out.results, len(electorate))
    if poll.anonymous:
        out.anonymous_reasons = [s.reason for s in plain if s.reason and not kind.written_answers]
    elif policy.can_see_voters(user, poll):
        people = {u.id: u for u in db.session.scalars(
            select(User).where(User.id.in_({s.participant_id for s in stances if s.participant_id})))}
        for s in stances:
            who = people.get(s.participant_id)
            choices = by_stance.get(s.id, {})
            out.voters.append(VoterRow(
                name=name_of(who),
                choice=(s.reason or "") if kind.written_answers else kind.describe_choices(poll, choices),
                reason=s.reason, choices=choices, created_at=s.created_at,
            ))
    return out


def tally(poll: Poll) -> Results:
    """The counts of a poll's latest votes, as the poll's page shows them; every mail that gives
    results (closed, outcome) counts with this too. Counts only: no voter is named."""
    results = get_type(poll.poll_type).tally(poll, _latest_stances(poll)[2])
    results.requirements = thresholds.requirements(poll, results, len(electorate_ids(poll)))
    return results


def _latest_stances(poll: Poll) -> tuple[list[Stance], dict[int, dict[int, int]], list["_PlainStance"]]:
    """The latest stances, their choices by stance id, and both as plain records to count."""
    stances = list(db.session.scalars(
        select(Stance).where(Stance.poll_id == poll.id, Stance.latest.is_(True)).order_by(Stance.id)
    ))
    by_stance: dict[int, dict[int, int]] = {}
    for c in db.session.scalars(select(StanceChoice).join(Stance).where(Stance.poll_id == poll.id,
                                                                         Stance.latest.is_(True))):
        by_stance.setdefault(c.stance_id, {})[c.poll_option_id] = c.score
    plain = [_PlainStance(by_stance.get(s.id, {}), s.reason, None if poll.anonymous else s.participant_id)
             for s in stances]
    if poll.anonymous:
        plain.sort(key=lambda s: (s.reason or "", sorted(s.choices.items())))  # no order to read anything from
    return stances, by_stance, plain


@dataclass
class _PlainStance:
    choices: dict
    reason: str | None
    participant_id: int | None
