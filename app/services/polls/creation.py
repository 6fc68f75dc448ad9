"""Starting a poll (any of the nine types, in a thread or standing alone) and deleting one."""
from __future__ import annotations

from datetime import datetime, timezone


from ... import policy, timezones
from ...extensions import db
from ...i18n import _, in_locale, number
from ...text import one_line
from ...models import HIDE_RESULTS, Discussion, Group, Poll, PollOption, PollVoter, User
from ...polls import get_type
from .. import events
from ..accounts import acting_member
from ..errors import Invalid, NotAllowed, NotFound
from sqlalchemy import select

from .common import aware, check_closing, event_fields, in_sentence, now_or, visible_poll


TITLE_MAX = 200
DETAILS_MAX = 20_000
OPTION_MAX = 200
MAX_OPTIONS = 50
MAX_NAMED_VOTERS = 500
REASON_CAP = 5_000


def clean_title(title: str) -> str:
    """A poll's title as kept: a thread's rule (app.services.discussions.clean_title)."""
    from ..discussions import clean_title as title_rule

    return title_rule(title, what="poll")


def clean_details(details: str) -> str:
    details = (details or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if len(details) > DETAILS_MAX:
        raise Invalid(_("The details can be at most %(limit)s characters.", limit=number(DETAILS_MAX)), field="details")
    return details


def create_poll(
    *, actor_id: int, poll_type: str, title: str, closing_at: datetime, group_id: int | None = None,
    discussion_id: int | None = None, details: str = "", options: list[str] | None = None,
    slots: list[datetime] | None = None, duration_minutes: int | None = None, time_zone: str = "UTC",
    anonymous: bool = False, hide_results: str = "off", voter_scope: str = "group",
    voters: list[str] | None = None, reason_mode: str | None = None, reason_max_length: int | None = None,
    min_choices: int | None = None, max_choices: int | None = None, dots_per_person: int | None = None,
    min_score: int | None = None, max_score: int | None = None, minimum_rank: int | None = None,
    target: int | None = None, allow_none_of_the_above: bool = False, voters_can_add_options: bool = False,
    draft: bool = False, source: str = "web", process: str | None = None,
    now: datetime | None = None, inbound_message_id: int | None = None,
    notify: str = "", include_guests: bool = False,
    running: dict | None = None, option_prompts: dict | None = None,
) -> Poll:
    """Start a decision in a thread (`discussion_id`) or standing alone in a group (`group_id`);
    a `draft` is only saved (no votes, no mail, seen by its author and admins) until `open_poll`."""
    user = acting_member(actor_id)
    now = now_or(now)
    discussion = None
    if discussion_id is not None:
        discussion = db.session.get(Discussion, discussion_id)
        if discussion is None or not policy.can_view_discussion(user, discussion):
            raise NotFound(_("There is no such thread."))
        if discussion.closed_at is not None:
            raise NotAllowed(_("This thread is closed, so no new polls can start in it."))
        group = discussion.group
    else:
        group = db.session.get(Group, group_id) if group_id is not None else None
        if group is None or not policy.can_see_group(user, group):
            raise NotFound(_("There is no such group."))
    if not policy.can_create_poll(user, group):
        if not policy.is_member(user, group):
            raise NotAllowed(_("Only members of this group can start polls here."))
        raise NotAllowed(_("Only this group's admins can start polls here."))
    try:
        kind = get_type(poll_type)
    except KeyError:
        raise Invalid(_("Please choose one of the poll types."), field="poll_type") from None
    chosen_process = _process_for(kind, process)

    title, details = clean_title(title), clean_details(details)
    closing_at = check_closing(closing_at, now)
    if hide_results not in HIDE_RESULTS:
        raise Invalid(_("Choose when results are shown."), field="hide_results")
    if voter_scope not in ("group", "specified"):
        raise Invalid(_("Choose who may vote."), field="voter_scope")
    if reason_mode is None:
        reason_mode = kind.default_reason_mode
    if reason_max_length is None:
        reason_max_length = 2000
    if not isinstance(reason_max_length, int) or not 1 <= reason_max_length <= REASON_CAP:
        raise Invalid(_("The reason length limit must be between 1 and %(limit)s.", limit=number(REASON_CAP)), field="reason_max_length")

    slot_rows: list[tuple[str, datetime]] = []
    if kind.options_are_slots:
        if options:
            raise Invalid(_("A meeting poll's options are time slots."), field="slots")
        seen = set()
        for slot in slots or []:
            if not isinstance(slot, datetime):
                raise Invalid(_("Each time slot needs a date and time."), field="slots")
            slot = aware(slot).astimezone(timezone.utc)
            if slot in seen:
                raise Invalid(_("Two time slots are the same."), field="slots")
            seen.add(slot)
            slot_rows.append((slot.strftime("%Y-%m-%d %H:%M UTC"), slot))
        slot_rows.sort(key=lambda r: r[1])
        if not slot_rows:
            raise Invalid(_("Please give at least one time slot."), field="slots")
        if duration_minutes is not None and (not isinstance(duration_minutes, int) or not 1 <= duration_minutes <= 24 * 60):
            raise Invalid(_("The meeting length must be between 1 minute and 24 hours."), field="duration_minutes")
        names = [r[0] for r in slot_rows]
    elif chosen_process is not None:
        names = chosen_process.option_names()
    elif kind.fixed_options:
        names = kind.default_options()
    else:
        names = [name for name in (one_line(o) for o in (options or [])) if name]
    if len(names) > MAX_OPTIONS:
        raise Invalid(_("A poll can have at most %(num)s options.", num=MAX_OPTIONS), field="options")
    if any(len(n) > OPTION_MAX for n in names):
        raise Invalid(_("Options can be at most %(num)s characters.", num=OPTION_MAX), field="options")
    if not timezones.is_known(time_zone or timezones.UTC):
        raise Invalid(_("Please choose a known time zone."), field="time_zone")

    settings = dict(
        options=names, reason_mode=reason_mode, reason_max_length=reason_max_length, min_choices=min_choices,
        max_choices=max_choices, dots_per_person=dots_per_person, min_score=min_score, max_score=max_score,
        minimum_rank=minimum_rank, target=target,
    )
    settings = {k: v for k, v in settings.items() if v is not None}
    problems = kind.validate_settings(settings)
    if problems:
        with in_locale("en"):  # which field to blame, read from the English words (the reader's may differ)
            about_options = any("option" in str(p).lower() for p in kind.validate_settings(settings))
        raise Invalid(" ".join(str(p) for p in problems), field=kind.options_field if about_options else "settings")

    from .running import apply_running, clean_option_prompts, clean_running

    # Shuffled options, reason prompts, the closing-soon notice, a proposal's requirements (app.services.polls.running).
    running = clean_running(kind.name, running or {})
    option_prompts = clean_option_prompts(option_prompts)
    named: list[tuple[str, User]] = []
    if voter_scope == "specified":
        from ..accounts import normalise_email
        from ..guests import guest_account

        emails = []
        for raw in voters or []:
            raw = raw.strip()
            if not raw:
                continue
            try:
                emails.append(normalise_email(raw))
            except Invalid:
                raise Invalid(_("“%(address)s” is not an email address.", address=raw[:80]), field="voters") from None
        emails = list(dict.fromkeys(emails))
        if not emails:
            raise Invalid(_("Name at least one person who may vote, by email address."), field="voters")
        if len(emails) > MAX_NAMED_VOTERS:
            raise Invalid(_("At most %(num)s named voters.", num=MAX_NAMED_VOTERS), field="voters")
        for email in emails:
            # A guest gets an unverified account, so they can vote by link or sign in later.
            person = guest_account(email)
            named.append((email, person))
    if include_guests and discussion is not None:  # the thread's guests vote too (services/guests)
        from ..guests import guest_voter_rows

        known = {person.id for _email, person in named}
        named += [(email, person) for email, person in guest_voter_rows(discussion) if person.id not in known]
    from .. import mentions

    notify_names = mentions.split_names(notify) if notify else []
    if notify_names and draft:
        raise Invalid(_("A draft tells nobody until it is opened: save it without names to tell, or open it now."),
                      field="notify")

    given = dict(min_choices=min_choices, max_choices=max_choices, dots_per_person=dots_per_person,
                 min_score=min_score, max_score=max_score, minimum_rank=minimum_rank, target=target,
                 allow_none_of_the_above=bool(allow_none_of_the_above))
    # Only the type's own settings are kept; an empty one takes the type's default.
    own = {**kind.setting_defaults(), **{name: given[name] for name in kind.settings_fields if given[name] is not None}}
    poll = Poll(
        group_id=group.id, discussion_id=discussion.id if discussion else None, author_id=user.id,
        poll_type=kind.name, title=title, details=details, closing_at=closing_at, created_at=now,
        anonymous=bool(anonymous), hide_results=hide_results, voter_scope=voter_scope, reason_mode=reason_mode,
        reason_max_length=reason_max_length, time_zone=time_zone or "UTC", inbound_message_id=inbound_message_id,
        voters_can_add_options=bool(voters_can_add_options) and kind.takes_option_names, draft=bool(draft), **own,
    )
    poll.process = chosen_process.name if chosen_process is not None else None
    db.session.add(poll)
    db.session.flush()
    if kind.options_are_slots:
        for i, (name, starts) in enumerate(slot_rows):
            db.session.add(PollOption(poll_id=poll.id, name=name, priority=i, starts_at=starts,
                                      duration_minutes=duration_minutes))
    else:
        meanings = chosen_process.meanings() if chosen_process is not None else {}
        for i, name in enumerate(names):
            db.session.add(PollOption(poll_id=poll.id, name=name, priority=i, meaning=meanings.get(name)))
    for email, person in named:
        db.session.add(PollVoter(poll_id=poll.id, user_id=person.id, email=email))
    db.session.flush()
    db.session.refresh(poll, ["options"])
    apply_running(poll, running, option_prompts)
    db.session.flush()
    told = mentions.resolve(group, discussion, notify_names, actor=user)
    mentions.record_notices(told, actor_id=user.id, poll_id=poll.id)
    if not poll.draft:
        _announce(poll, user, now, source, notify_ids=told.user_ids)
    db.session.commit()
    poll.notify_left_out = told.left_out  # for the page or mail that confirms it (not stored)
    return poll


def _announce(poll: Poll, user: User, now: datetime, source: str, notify_ids: list[int] | tuple = ()) -> None:
    """Voting opens: the thread moves, and the event that mails the group and the electorate."""
    if poll.discussion is not None:
        from ..discussions import participate

        poll.discussion.last_activity_at = now
        participate(user.id, poll.discussion)
    named = list(db.session.scalars(select(User).join(PollVoter, PollVoter.user_id == User.id)
                                    .where(PollVoter.poll_id == poll.id).order_by(PollVoter.id)))
    events.record(
        "poll_created", actor_id=user.id, **event_fields(poll), poll_type=poll.poll_type, title=poll.title,
        closing_at=aware(poll.closing_at).isoformat(), anonymous=poll.anonymous, voter_scope=poll.voter_scope,
        named_voter_ids=[p.id for p in named], guest_voter_ids=[p.id for p in named if p.email_verified_at is None],
        source=source, **({"notify_ids": list(notify_ids)} if notify_ids else {}),
    )


def open_poll(*, actor_id: int, poll_id: int, closing_at: datetime | None = None, now: datetime | None = None) -> Poll:
    """Open a draft for votes (with a new closing time if its own has passed); its mail goes out now."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can open it."))
    if not poll.draft:
        raise NotAllowed(_("This poll is open already."))
    now = now_or(now)
    poll.closing_at = check_closing(closing_at or poll.closing_at, now)
    poll.draft = False
    poll.created_at = now  # opened now: "closing soon" and the lists count from here
    _announce(poll, user, now, "web")
    db.session.commit()
    return poll


def delete_poll(*, actor_id: int, poll_id: int, now: datetime | None = None) -> None:
    """Soft delete: the poll disappears everywhere; its rows stay for the group export."""
    user = acting_member(actor_id)
    poll = visible_poll(user, poll_id)
    if not policy.can_administer_poll(user, poll):
        raise NotAllowed(_("Only the poll's author or a group admin can delete it."))
    poll.deleted_at = now_or(now)
    events.record("poll_deleted", actor_id=user.id, **event_fields(poll), title=poll.title)
    db.session.commit()


def _process_for(kind, name: str | None):
    """The decision process a new poll of type `kind` follows (None for none); Invalid for one it can't."""
    from ...polls.decision_processes import get_process

    try:
        process = get_process((name or "").strip() or None)
    except KeyError:
        raise Invalid(_("Please choose one of the decision processes."), field="process") from None
    if process is not None and not process.fits(kind):
        raise Invalid(_("A %(kind)s can't follow the %(process)s.", kind=in_sentence(kind.label), process=in_sentence(process.label)),
                      field="process")
    return process
