"""Reply → vote: the first line of a reply to a poll email is read with the poll type's grammar
(`app.polls` `parse_vote_text`, PRODUCT.md §9) and cast through `services.polls.cast_vote`, the
same call the web's vote form makes. A reply that is not a vote becomes a comment in the poll's
thread (or, for a poll standing alone, is explained); either way the member is told by mail.
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app import policy
from app.email.addresses import reply_address
from app.extensions import db
from app.i18n import _
from app.models import Comment, Poll, Stance
from app.polls import VoteError, get_type
from app.services import discussions
from app.services import polls as poll_service
from app.services.errors import DomainError

from . import confirm
from .comments import post_comment
from .reply import ActionResult, Reply, refused


def _poll_url(poll: Poll) -> str:
    return current_app.config["BASE_URL"] + f"/p/{poll.id}"


def reply_to_poll(reply: Reply) -> ActionResult:
    poll = db.session.get(Poll, reply.target_id)
    if poll is None or poll.deleted_at is not None:
        return refused("vote", _("The poll you replied to no longer exists, so nothing was recorded."))
    user = reply.user
    if not policy.can_view_poll(user, poll):
        return refused("vote", _("You can no longer take part in “%(title)s” (you may have left the group), so "
                                 "nothing was recorded.", title=poll.title), group_id=poll.group_id)
    kind = get_type(poll.poll_type)
    try:
        parsed = kind.parse_vote_text(poll, reply.text, user.time_zone)
    except VoteError as error:
        return _not_a_vote(reply, poll, error.message)
    if reply.dry_run:
        choice = kind.describe_choices(poll, parsed.choices, user.time_zone)
        return ActionResult("processed", "vote", "would record a vote: " + str(choice), group_id=poll.group_id,
                            preview=_("Record a vote: %(choice)s", choice=choice))
    recorded = _stance_from(reply)
    if recorded is not None:  # a retried job (the worker died after the commit): no second stance
        changed = db.session.scalar(select(Stance.id).where(
            Stance.poll_id == poll.id, Stance.participant_id == user.id, Stance.id < recorded.id).limit(1)) is not None
    else:
        changed = poll_service.current_stance(user.id, poll.id) is not None
        try:
            poll_service.cast_vote(actor_id=user.id, poll_id=poll.id, choices=parsed.choices, reason=parsed.reason,
                                   source="email", inbound_message_id=reply.inbound_id)
        except DomainError as error:
            db.session.rollback()
            return refused("vote", _("%(error)s Nothing was recorded.", error=error.message), group_id=poll.group_id)
    notes = _extra_text(reply, poll, parsed.extra_text)
    notes += _attachments_note(reply)
    confirm.send(reply, kind="vote_recorded", reply_to=reply_address(user, "poll", poll.id), context={
        "poll": poll, "recorded": True, "changed": changed, "choice": kind.describe_choices(poll, parsed.choices, user.time_zone),
        "reason": None if kind.written_answers else parsed.reason, "anonymous": poll.anonymous,
        "poll_url": _poll_url(poll), "notes": notes,
    })
    # Anonymous polls: the outcome row names the member but never the choice.
    what = "changed a vote" if changed else "recorded a vote"
    if recorded is not None:
        what = "already " + what
    return ActionResult("processed", "vote", f"{what} in poll {poll.id}", group_id=poll.group_id)


def _stance_from(reply: Reply) -> Stance | None:
    """The stance this very message recorded, if a previous run of its job committed one.

    (An anonymous poll forgets this link when it closes; a closed poll takes no votes anyway.)"""
    if reply.inbound_id is None:
        return None
    return db.session.scalar(select(Stance).where(Stance.inbound_message_id == reply.inbound_id))


def _extra_text(reply: Reply, poll: Poll, extra: str | None) -> list[str]:
    """A poll without reasons: what came with the vote is posted as a comment, or said to be left out."""
    if not extra:
        return []
    discussion = poll.discussion
    if poll.anonymous or discussion is None or not policy.can_comment(reply.user, discussion):
        # A comment next to an anonymous vote would say who cast it.
        return [_("This poll takes no reasons, so the rest of your message was not kept:") + "\n\n" + extra]
    if reply.inbound_id is not None and db.session.scalar(
            select(Comment.id).where(Comment.inbound_message_id == reply.inbound_id)) is not None:
        return [_("This poll takes no reasons, so the rest of your message was posted as a comment in "
                  "“%(title)s”.", title=discussion.title)]  # a retried job had posted it already
    try:
        discussions.post_comment(actor_id=reply.user.id, discussion_id=discussion.id, body=extra, source="email",
                                 inbound_message_id=reply.inbound_id)
    except DomainError as error:
        db.session.rollback()
        return [_("This poll takes no reasons, and the rest of your message could not be posted as a comment "
                  "(%(error)s):", error=error.message) + "\n\n" + extra]
    return [_("This poll takes no reasons, so the rest of your message was posted as a comment in “%(title)s”.",
              title=discussion.title)]


def _attachments_note(reply: Reply) -> list[str]:
    if not reply.attachments:
        return []
    names = ", ".join(a.filename for a in reply.attachments)
    return [_("Votes carry no files, so your attachments were not kept (%(names)s).", names=names)]


def _not_a_vote(reply: Reply, poll: Poll, error: str) -> ActionResult:
    """Not a vote: a comment in the poll's thread with a confirmation saying how to vote, or one explanation."""
    if poll.discussion_id is None:
        return refused("vote", _("We could not read your reply as a vote in “%(title)s”, so nothing was recorded.",
                                 title=poll.title) + f"\n\n{error}", group_id=poll.group_id)
    result = post_comment(reply, poll.discussion, None)
    if result.status != "processed":
        result.reason += "\n\n" + _("It was not a vote either: %(error)s", error=error)
        return result
    if result.reason != "already posted":
        confirm.send(reply, kind="vote_recorded", reply_to=reply_address(reply.user, "poll", poll.id), context={
            "poll": poll, "recorded": False, "error": error, "poll_url": _poll_url(poll), "notes": [],
        })
    result.reason = f"not a vote ({error.splitlines()[0]}); {result.reason}"
    return result
