"""Build one notification email for one member: context, threading headers, footer links.

The fan-out decides *who*; this module decides *what they get*. Every kind renders
templates/email/<kind>/ through app.email.render_email.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import Comment, Discussion, Event, Group, Outcome, Poll, User
from ..polls import Results
from ..rendering import markdown_to_html
from ..timezones import local_time
from . import headers, links
from .addresses import reply_address
from .headers import ListHeaders, MailOptions
from .invitations import calendar_for
from .outbox import Outgoing
from ..i18n import _
from .render import Later

# Why a member gets a mail (the footer's first sentence), written when the mail is rendered, in the
# reader's language (app/email/outbox.py renders under the recipient's locale).
REASONS = {
    "group": lambda group, actor: _("You get every message from this group."),
    "thread": lambda group, actor: _("You are following this thread because you took part in it."),
    "mention": lambda group, actor: _("%(actor)s mentioned you.", actor=actor),
    "reply": lambda group, actor: _("%(actor)s replied to your comment.", actor=actor),
    "poll": lambda group, actor: _("You are invited to vote in this poll."),
    "notify": lambda group, actor: _("%(actor)s asked for you to be told of this.", actor=actor),
    "guest": lambda group, actor: _("You are a guest of this thread."),
    "digest": lambda group, actor: _(
        "You get a digest from %(group)s; this one was sent straight away because it concerns you.", group=group),
}


def _reason_text(reason: str, group_name: str, actor_name: str | None) -> str:
    return REASONS.get(reason, REASONS["group"])(group_name, actor_name or _("Someone"))


def _from_name(actor_name: str | None, group_name: str) -> str:
    return _("%(actor)s via %(group)s", actor=actor_name, group=group_name) if actor_name else group_name


def _poll_subject(group, kind_label, title: str) -> str:
    return headers.thread_subject(group, _("%(kind)s: %(title)s", kind=kind_label, title=title))


@dataclass
class EventContext:
    """What every recipient's copy of one event shares (loaded once per event)."""

    event: Event
    group: Group
    actor: User | None
    discussion: Discussion | None = None
    comment: Comment | None = None
    poll: Poll | None = None
    outcome: Outcome | None = None
    shared: dict = field(default_factory=dict)


def load_context(event: Event, *, tally: Callable[[Poll], Results]) -> EventContext | None:
    """Load what the event is about; None if it is gone (deleted since). `tally` counts a poll's
    votes (the poll page's own count, `services.polls.tally`), for the mails that give results."""
    group = db.session.get(Group, event.group_id) if event.group_id else None
    if group is None:
        return None
    ctx = EventContext(event=event, group=group, actor=event.actor)
    if event.discussion_id:
        ctx.discussion = db.session.get(Discussion, event.discussion_id)
        if ctx.discussion is None or ctx.discussion.deleted_at is not None:
            return None
        ctx.group = ctx.discussion.group
    if event.comment_id:
        ctx.comment = db.session.get(Comment, event.comment_id)
        if ctx.comment is None or ctx.comment.deleted_at is not None:
            return None
    if event.poll_id:
        ctx.poll = db.session.get(Poll, event.poll_id)
        if ctx.poll is None or ctx.poll.deleted_at is not None:
            return None
        if ctx.discussion is None and ctx.poll.discussion_id:
            ctx.discussion = ctx.poll.discussion
    if event.kind == "outcome_created" and ctx.poll is not None:
        outcome_id = (event.data or {}).get("outcome_id")
        query = select(Outcome).where(Outcome.poll_id == ctx.poll.id)
        query = query.where(Outcome.id == outcome_id) if outcome_id else query.where(Outcome.latest.is_(True))
        ctx.outcome = db.session.scalar(query.order_by(Outcome.id.desc()).limit(1))
    ctx.shared = _shared(ctx, tally)
    return ctx


def _shared(ctx: EventContext, tally: Callable[[Poll], Results]) -> dict:
    base = current_app.config["BASE_URL"]
    out: dict = {"group": ctx.group, "discussion": ctx.discussion, "comment": ctx.comment, "poll": ctx.poll,
                 "outcome": ctx.outcome, "actor_name": ctx.actor.display_name if ctx.actor else None,
                 "group_url": f"{base}/g/{ctx.group.handle}"}
    if ctx.actor is not None:  # their title in the group ("Treasurer"), shown beside their name in the body
        from ..models import Membership

        out["actor_title"] = db.session.scalar(select(Membership.title).where(
            Membership.group_id == ctx.group.id, Membership.user_id == ctx.actor.id))
    if ctx.discussion is not None:
        out["thread_url"] = f"{base}/d/{ctx.discussion.id}"
        out["thread_body_html"] = markdown_to_html(ctx.discussion.body)
    if ctx.comment is not None:
        out["item_url"] = f"{base}/d/{ctx.discussion.id}#c{ctx.comment.id}"
        out["comment_html"] = markdown_to_html(ctx.comment.body)
        parent = ctx.comment.parent
        out["parent"] = parent
        out["parent_author_name"] = parent.author.display_name if parent is not None and parent.author else None
    if ctx.poll is not None:
        from ..polls import get_type
        from ..polls.base import ordered_options

        kind = get_type(ctx.poll.poll_type)
        out["poll_url"] = f"{base}/p/{ctx.poll.id}"
        out["poll_label"] = kind.label
        from ..polls.decision_processes import for_poll as process_of

        process = process_of(ctx.poll)
        if process is not None:  # a decision process names the poll and asks its own question
            out["poll_label"] = process.label
            out["process_prompt"] = process.prompt if ctx.poll.reason_mode != "off" else None
        out["poll_details_html"] = markdown_to_html(ctx.poll.details)
        out["options"] = ordered_options(ctx.poll)
        out["vote_instructions"] = Later(kind.vote_instructions, ctx.poll)  # in each reader's language
        out["one_click"] = kind.one_click(ctx.poll)
        # What the author wants a reason to say (the poll's prompt, and each option's).
        out["reason_prompts"] = [("", ctx.poll.reason_prompt)] * bool(ctx.poll.reason_prompt) + [
            (Later(kind.option_label, o), o.reason_prompt) for o in out["options"] if getattr(o, "reason_prompt", None)]
        if ctx.event.kind in ("poll_closed", "outcome_created", "outcome_review_due"):
            # Counts only: never names, so anonymous polls stay anonymous in mail too.
            out["results"] = tally(ctx.poll)
    if ctx.outcome is not None:
        out["outcome_html"] = markdown_to_html(ctx.outcome.statement)
        chosen = next((o for o in out.get("options", ()) if o.id == ctx.outcome.poll_option_id), None)
        if chosen is not None and chosen.starts_at is not None:  # a meeting's chosen slot: an invitation
            from ..polls.calendar import outcome_event

            out["chosen"] = chosen
            out["ics"] = outcome_event(ctx.poll, chosen, ctx.outcome, domain=current_app.config["MAIL_DOMAIN"],
                                       base_url=base)
    if ctx.event.kind == "meeting_cancelled" and ctx.poll is not None:  # the slot that is no longer on
        cancelled = (ctx.event.data or {}).get("option_id")
        out["chosen"] = next((o for o in out.get("options", ()) if o.id == cancelled), None)
        out["cancel_reason"] = (ctx.event.data or {}).get("why")
    return out


Threading = tuple[str, list[str], str, int]  # (Message-ID, References, reply kind, reply target id)


def _discussion_started(ctx: EventContext, user: User) -> Threading:
    root = _root(ctx, user)
    return root, [], "discussion", ctx.discussion.id


def _comment_posted(ctx: EventContext, user: User) -> Threading:
    d_id = ctx.discussion.id
    references = [_root(ctx, user)]
    if ctx.comment.parent_id:
        references.append(headers.message_id(user_id=user.id, discussion_id=d_id, comment_id=ctx.comment.parent_id))
    return (headers.message_id(user_id=user.id, discussion_id=d_id, comment_id=ctx.comment.id), references,
            "comment", ctx.comment.id)


def _poll_created(ctx: EventContext, user: User) -> Threading:
    root = _root(ctx, user)
    msgid = headers.message_id(user_id=user.id, discussion_id=_discussion_id(ctx), poll_id=ctx.poll.id)
    return msgid, [root] if msgid != root else [], "poll", ctx.poll.id


def _poll_news(ctx: EventContext, user: User) -> Threading:
    """Later news about a poll (closing soon, a reminder, closed, its outcome) threads under its first mail."""
    d_id, root = _discussion_id(ctx), _root(ctx, user)
    poll_mail = headers.message_id(user_id=user.id, discussion_id=d_id, poll_id=ctx.poll.id)
    msgid = headers.message_id(user_id=user.id, discussion_id=d_id, poll_id=ctx.poll.id, event_id=ctx.event.id)
    if ctx.event.kind == "outcome_created" and ctx.discussion is not None:
        reply_kind, reply_id = "discussion", ctx.discussion.id  # talk about the outcome in the thread
    else:
        reply_kind, reply_id = "poll", ctx.poll.id
    return msgid, [root] + ([poll_mail] if poll_mail != root else []), reply_kind, reply_id


# The event kinds that are mailed, each with how its mail threads (templates/email/<kind>/).
THREADING = {
    "discussion_started": _discussion_started,
    "comment_posted": _comment_posted,
    "poll_created": _poll_created,
    "poll_closing_soon": _poll_news,
    "poll_reminder": _poll_news,
    "poll_closed": _poll_news,
    "outcome_created": _poll_news,
    "poll_edited": _poll_news,  # mailed only to those who voted, and only when an option changed
    "outcome_review_due": _poll_news,  # to the author alone, on the outcome's review date
    "meeting_cancelled": _poll_news,  # a meeting's invitation withdrawn: METHOD:CANCEL (app/email/invitations.py)
}
EMAIL_KINDS = tuple(THREADING)


def _discussion_id(ctx: EventContext) -> int | None:
    return ctx.discussion.id if ctx.discussion is not None else None


def _root(ctx: EventContext, user: User) -> str:
    return headers.root_message_id(user_id=user.id, discussion_id=_discussion_id(ctx),
                                   poll_id=ctx.poll.id if ctx.poll else None)


def build(ctx: EventContext, user: User, reason: str) -> Outgoing:
    """The email for `user` about ctx.event, ready to queue."""
    event, group, discussion, poll = ctx.event, ctx.group, ctx.discussion, ctx.poll
    msgid, references, reply_kind, reply_id = THREADING[event.kind](ctx, user)
    if discussion is not None:
        subject = headers.thread_subject(group, discussion.title)
    else:
        subject = Later(_poll_subject, group, ctx.shared["poll_label"], poll.title)  # "Umfrage: …" for a German reader
    footer = links.footer_links(user, group=group, discussion_id=_discussion_id(ctx))
    unsubscribe_token = links.make("unsubscribe_group", user, group_id=group.id)
    unsubscribe_url = links.one_click_url(unsubscribe_token)
    actor_name = ctx.actor.display_name if ctx.actor is not None else None
    context = {
        **ctx.shared,
        "user": user,
        "subject": subject,
        "reason": reason,
        "reason_text": Later(_reason_text, reason, group.name, actor_name),
        "footer": footer,
    }
    if poll is not None:  # every time in the reader's own zone, named, and written in their language
        from ..polls import get_type

        kind = get_type(poll.poll_type)
        context["closing_local"] = Later(local_time, poll.closing_at, user.time_zone)
        context["option_labels"] = labels = {o.id: Later(kind.option_label, o, user.time_zone)
                                             for o in ctx.shared["options"]}
        from ..polls.order import option_numbers, options_for

        # Each reader's own order when the poll shuffles; every option keeps its own number for replies.
        context["options"] = options_for(poll, user.id)
        context["option_numbers"] = option_numbers(poll)
        context["event_audience"] = (event.data or {}).get("audience")
        context["has_voted"] = user.id not in set((event.data or {}).get("non_voter_ids") or [])
        if ctx.shared.get("chosen") is not None:
            context["chosen_label"] = labels[ctx.shared["chosen"].id]
        if ctx.shared.get("results") is not None:
            context["result_lines"] = [(labels.get(row.option_id, row.name), Later(kind.result_line, row))
                                       for row in ctx.shared["results"].options]
            from ..polls import thresholds

            reqs, closed = ctx.shared["results"].requirements, poll.closed_at is not None
            context["requirement_lines"] = [Later(thresholds.line, r, closed=closed) for r in reqs]
            context["verdict"] = Later(thresholds.verdict, reqs, closed=closed)
    context["event_message"] = (event.data or {}).get("message")
    context["event_statement"] = (event.data or {}).get("statement")
    context["event_changes"] = (event.data or {}).get("changes") or {}
    if poll is not None and ctx.shared.get("one_click") and poll.is_open:
        context["vote_links"] = {o.id: links.vote_url(user, poll_id=poll.id, option_id=o.id) for o in ctx.shared["options"]}
    options = MailOptions(
        from_name=Later(_from_name, actor_name, group.name),
        message_id=msgid,
        in_reply_to=references[-1] if references else None,
        references=tuple(references),
        reply_to=reply_address(user, reply_kind, reply_id),
        lists=ListHeaders(list_id=headers.list_id(group), archive_url=ctx.shared["group_url"],
                          unsubscribe_url=unsubscribe_url,
                          unsubscribe_mailto=reply_address(user, "group", group.id)),
    )
    attachments = ()
    calendar = calendar_for(ctx, user)  # a meeting's invitation (REQUEST) or its withdrawal (CANCEL)
    if calendar is not None:  # beside the text as clients expect, and as a file for those that want one
        attachments = ((f"poll-{poll.id}.ics", "application/ics", calendar[1].encode()),)
    elif ctx.shared.get("ics"):  # an outcome from before invitations: the poll page's "Add to calendar" file
        attachments = ((f"poll-{poll.id}.ics", "text/calendar", ctx.shared["ics"].encode()),)
    return Outgoing(kind=event.kind, to=user.email, user=user, event_id=event.id,
                    dedupe_key=f"event:{event.id}:user:{user.id}", context=context, options=options,
                    attachments=attachments, calendar=calendar)
