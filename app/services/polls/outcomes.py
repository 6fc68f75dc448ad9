"""The outcome statement after closing (a meeting's names the chosen slot), and its calendar file."""
from __future__ import annotations

from sqlalchemy import select, update

from ... import policy
from ...extensions import db
from ...i18n import _, number
from ...models import Outcome, Poll, PollOption
from ...polls import get_type
from ...polls.calendar import outcome_event
from .. import events
from ..accounts import acting_member
from ..errors import Invalid, NotAllowed, NotFound
from .common import event_fields, visible_poll
from .creation import DETAILS_MAX


def latest_outcome(poll_id: int) -> Outcome | None:
    return db.session.scalar(select(Outcome).where(Outcome.poll_id == poll_id, Outcome.latest.is_(True)))


def set_outcome(*, actor_id: int, poll_id: int, statement: str, option_id: int | None = None) -> Outcome:
    """State what was decided (meeting polls: the chosen slot). A new outcome replaces the last."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can write the outcome."))
    if poll.closed_at is None:
        raise NotAllowed(_("The outcome is written once the poll has closed."))
    statement = (statement or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if not statement:
        raise Invalid(_("Please write what was decided."), field="statement")
    if len(statement) > DETAILS_MAX:
        raise Invalid(_("The outcome can be at most %(limit)s characters.", limit=number(DETAILS_MAX)), field="statement")
    option = None
    if option_id is not None:
        option = db.session.get(PollOption, option_id)
        if option is None or option.poll_id != poll.id:
            raise Invalid(_("Please choose one of this poll's options."), field="option_id")
    if get_type(poll.poll_type).outcome_names_option and option is None:
        raise Invalid(_("Please choose the time slot you settled on."), field="option_id")
    db.session.execute(update(Outcome).where(Outcome.poll_id == poll.id).values(latest=False)
                       .execution_options(synchronize_session=False))
    outcome = Outcome(poll_id=poll.id, author_id=user.id, statement=statement,
                      poll_option_id=option.id if option else None, latest=True)
    db.session.add(outcome)
    db.session.flush()
    data = {"outcome_id": outcome.id, "title": poll.title, "option_id": option.id if option else None}
    if option is not None and option.starts_at is not None:
        data.update(starts_at=option.starts_at.isoformat(), duration_minutes=option.duration_minutes or 60,
                    ics_path=f"/p/{poll.id}/outcome.ics")
        from .. import meetings

        data["ics_sequence"] = meetings.invite(poll, outcome)  # the calendar invitation's SEQUENCE (iMIP)
    events.record("outcome_created", actor_id=user.id, **event_fields(poll), **data)
    db.session.commit()
    return outcome


def outcome_ics(poll: Poll, outcome: Outcome) -> str:
    """An iCalendar invitation for a meeting poll's chosen slot (the web's download and the mail's
    attachment are this one file, built by `app.polls.calendar`)."""
    option = db.session.get(PollOption, outcome.poll_option_id) if outcome.poll_option_id else None
    if option is None or option.starts_at is None:
        raise NotFound(_("This outcome has no chosen time."))
    from flask import current_app

    from ..meetings import invitation_of

    sent = invitation_of(poll.id)  # the download and the mailed invitation: one UID, one SEQUENCE
    return outcome_event(poll, option, outcome, domain=current_app.config.get("MAIL_DOMAIN", "quorum.invalid"),
                         base_url=current_app.config.get("BASE_URL", ""),
                         sequence=sent.sequence if sent is not None and sent.outcome_id == outcome.id else None)
