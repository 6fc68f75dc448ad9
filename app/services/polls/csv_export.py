"""The results as CSV, every cell safe to open in a spreadsheet (app/spreadsheets.py)."""
from __future__ import annotations

import io

from sqlalchemy import select

from ... import policy
from ...extensions import db
from ...i18n import _
from ...models import Poll, Stance
from ...polls import get_type
from ...polls.base import ordered_options
from ...spreadsheets import SafeWriter
from ..errors import NotAllowed, NotFound
from .results import results_for


def csv_export(user, poll: Poll) -> str:
    """The results as CSV: a summary per option, then one row per vote (no names if anonymous)."""
    if not policy.can_view_poll(user, poll):
        raise NotFound(_("There is no such poll."))
    view = results_for(user, poll)
    if not view.visible:
        raise NotAllowed(view.hidden_reason)
    options = ordered_options(poll)
    buffer = io.StringIO()
    w = SafeWriter(buffer)  # every cell, the poll's title included
    w.writerow(["poll", poll.title])
    kind = get_type(poll.poll_type)
    w.writerow(["type", kind.label])
    w.writerow(["status", "closed" if poll.closed_at else "open"])
    w.writerow(["voters", view.voter_count])
    w.writerow(["undecided", view.undecided_count])
    r = view.results
    if r.none_of_the_above:
        w.writerow(["none_of_the_above", r.none_of_the_above])
    if r.requirements:  # a proposal's requirements to pass, each met or not
        from ...polls import thresholds

        closed = poll.closed_at is not None
        for req in r.requirements:
            w.writerow(["requirement", req.needed, req.actual, "met" if req.met else ("not met" if closed else "not met yet")])
        w.writerow(["verdict", thresholds.verdict(r.requirements, closed=closed)])
    w.writerow([])
    if not kind.written_answers:
        w.writerow(["option", "voters", "score_total", "percent", "average", "yes", "maybe", "no"])
        for row in r.options:
            w.writerow([row.name, row.voter_count, row.score_total, f"{row.percent:.1f}",
                        "" if row.average is None else f"{row.average:.2f}", row.yes, row.maybe, row.no])
        w.writerow([])
    option_names = [o.name for o in options]
    if poll.anonymous:
        w.writerow(["vote"] + option_names + ["reason"])
        if kind.written_answers:
            for n, text in enumerate(sorted(a.text for a in r.answers), 1):
                w.writerow([n, text])
        else:
            stances = list(db.session.scalars(select(Stance).where(Stance.poll_id == poll.id, Stance.latest.is_(True))))
            rows = sorted(([str(s.choices.get(o.id, "")) for o in options], s.reason or "") for s in stances)
            for n, (scores, reason) in enumerate(rows, 1):
                w.writerow([n] + scores + [reason])
    elif policy.can_see_voters(user, poll):
        w.writerow(["voter", "voted_at"] + option_names + ["reason"])
        for v in view.voters:
            w.writerow([v.name, v.created_at.isoformat() if v.created_at else ""]
                       + [v.choices.get(o.id, "") for o in options] + [v.reason or ""])
    return buffer.getvalue()
