"""Decisions in the browser: start a poll, vote, change a vote, close, reopen, remind, outcome.

Every action is a plain form (303 after POST); htmx only swaps the poll section in place.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, flash, render_template, request
from flask_login import current_user

from .. import policy, timezones
from ..email import links
from ..models import Poll
from ..polls import POLL_TYPES, VoteError, get_type
from ..polls.base import ordered_options
from ..polls.order import option_numbers, options_for
from ..polls.thresholds import line as requirement_line, verdict as requirement_verdict
from ..polls.charts import render_results, slot_label
from ..services import meetings
from ..services import polls as service
from ..services.errors import DomainError, Invalid, NotFound
from .helpers import is_htmx, see_other, sign_in_first, signed_in_user
from .loaders import discussion_or_404, group_or_404, poll_or_404
from ..i18n import _, _l

bp = Blueprint("polls", __name__)


HIDE_CHOICES = [("off", _l("Always")), ("until_vote", _l("After they vote")), ("until_closed", _l("When the poll closes"))]
REASON_CHOICES = [("optional", _l("Optional")), ("required", _l("Required")), ("off", _l("Off"))]
CLOSING_SOON_CHOICES = [("undecided", _l("Those who have not voted")), ("everyone", _l("Everyone who may vote")),
                        ("author", _l("Only the poll's author")), ("nobody", _l("Nobody"))]
CLOSING_TIME_FORMAT = _l("Please give the closing time as a date and time, like 2025-06-30 18:00.")


def _running_form(form) -> dict:
    """The running settings as the creation and edit forms send them (app.services.polls.running checks them)."""
    return dict(
        shuffle_options=form.get("shuffle_options") == "1", reason_prompt=form.get("reason_prompt") or None,
        closing_soon_audience=form.get("closing_soon_audience") or "undecided",
        closing_soon_hours=_optional_int(form, "closing_soon_hours",
                                         _l("The hours before closing must be a whole number.")),
        quorum_percent=_optional_int(form, "quorum_percent", _l("The participation needed must be a whole number.")),
        pass_percent=_optional_int(form, "pass_percent", _l("The share of agree needed must be a whole number.")),
        pass_without_blocks=form.get("pass_without_blocks") == "1")


def _running_values(poll: Poll) -> dict:
    """The edit form's running settings, as the poll has them."""
    return {"shuffle_options": "1" if poll.shuffle_options else "", "reason_prompt": poll.reason_prompt or "",
            "closing_soon_audience": poll.closing_soon_audience or "undecided",
            "closing_soon_hours": str(poll.closing_soon_hours or 24),
            "quorum_percent": str(poll.quorum_percent or ""), "pass_percent": str(poll.pass_percent or ""),
            "pass_without_blocks": "1" if poll.pass_without_blocks else ""}


def _parse_day(value: str, zone: str, field: str) -> datetime | None:
    """A `date` input (YYYY-MM-DD) as 09:00 that day in the member's zone; None when empty."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise Invalid(_("Please give the review date as a date, like 2027-03-01."), field=field) from None
    return day.replace(hour=9, tzinfo=timezones.zone(zone))


# --- small parsers ------------------------------------------------------------------------

def _zone() -> str:
    return timezones.known_name(getattr(current_user, "time_zone", None))


def _parse_local(value: str, zone: str, field: str, message) -> datetime:
    """A `datetime-local` value (or "YYYY-MM-DD HH:MM") read in the member's zone; `message` (a whole
    sentence: "Please give … as a date and time, like …") when it is not one."""
    text = (value or "").strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            naive = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise Invalid(str(message), field=field)
    return naive.replace(tzinfo=timezones.zone(zone))


def _optional_int(form, name: str, message) -> int | None:
    """The whole number in `name`, None when empty; `message` (a whole sentence) when it is not one."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise Invalid(str(message), field=name) from None


def _local_input(value: datetime | None, zone: str) -> str:
    return value.astimezone(timezones.zone(zone)).strftime("%Y-%m-%dT%H:%M") if value else ""


# --- loading -------------------------------------------------------------------------------

def _page(poll: Poll, *, errors=None, form=None, status=200, template=None):
    """The poll page, or just its section for htmx."""
    user = signed_in_user()
    view = service.results_for(user, poll)
    zone = _zone() if user else timezones.known_name(poll.time_zone)
    chart = render_results(poll, view.results, view.voters, zone=zone) if view.visible else ""
    mine = service.current_stance(user.id, poll.id) if user else None
    kind = get_type(poll.poll_type)
    context = dict(
        poll=poll, kind=kind, view=view, chart=chart, mine=mine, zone=zone,
        mine_text=kind.describe_choices(poll, mine.choices, zone) if mine else "",
        history=[(s, kind.describe_choices(poll, s.choices, zone)) for s in service.vote_history(user.id if user else None, poll.id)],
        options=options_for(poll, user.id if user else None), outcome=service.latest_outcome(poll.id),
        option_numbers=option_numbers(poll), receipts=service.receipts(user, poll),
        can_remind=policy.can_remind(user, poll), threads=service.threads_for(user, poll) if user else [],
        can_vote=policy.can_vote(user, poll), may_vote=policy.may_vote(user, poll),
        can_admin=policy.can_administer_poll(user, poll), can_reopen=policy.can_reopen_poll(user, poll),
        can_edit=policy.can_edit_poll(user, poll), can_remove_vote=policy.can_remove_vote(user, poll), can_add_option=policy.can_add_option(user, poll),
        changes=service.history_lines(poll, zone),
        errors=errors or {}, form=form or {}, slot_label=slot_label, now_input=_local_input,
        vote_values=_vote_values(poll, mine, form), requirement_line=requirement_line,
        requirement_verdict=requirement_verdict,
    )
    from ..polls.decision_processes import for_poll

    context["process"] = for_poll(poll)
    context["can_save_template"] = policy.can_manage_templates(user, policy.poll_group(poll))
    context.update(attendance=meetings.attendance(user, poll), can_withdraw=policy.can_withdraw_outcome(user, poll))
    name = template or ("polls/_poll.html" if is_htmx() else "polls/show.html")
    return render_template(name, **context), status


def _vote_values(poll: Poll, mine, form) -> dict:
    """What the vote form shows as chosen (option id → value): the submitted form, else the current vote."""
    if form and "_values" in form:
        return form["_values"]
    if mine is None:
        return {}
    return get_type(poll.poll_type).form_values(poll, mine.choices)


def _submitted_values(poll: Poll, form) -> dict:
    """The vote form as submitted, to show it again beside an error."""
    values: dict = {}
    picked = form.getlist("option")
    if "none" in picked:
        values["none"] = 1
    for o in poll.options:
        if str(o.id) in picked:
            values[o.id] = 1
        for prefix in ("score", "rank", "slot"):
            raw = form.get(f"{prefix}-{o.id}")
            if raw not in (None, ""):
                values[o.id] = raw
    return values


# --- pages ---------------------------------------------------------------------------------

@bp.get("/p/<int:poll_id>")
def show(poll_id: int):
    return _page(poll_or_404(poll_id))


@bp.post("/p/<int:poll_id>/vote")
def vote(poll_id: int):
    poll = poll_or_404(poll_id)
    user = signed_in_user()
    if user is None:
        return sign_in_first(f"/p/{poll_id}")
    form = {k: request.form.get(k) for k in request.form}
    form["_values"] = _submitted_values(poll, request.form)
    try:
        try:
            choices, reason = get_type(poll.poll_type).read_form(poll, request.form)
        except VoteError as error:
            raise Invalid(error.message, field="vote") from None
        service.cast_vote(actor_id=user.id, poll_id=poll.id, choices=choices, reason=reason, source="web")
    except DomainError as error:
        return _page(poll, errors={error.field or "vote": error.message}, form=form, status=422)
    if not is_htmx():  # htmx swaps the section in place; a flash would linger to the next page
        flash(_("Your vote is counted. You can change it until the poll closes."), "success")
    return see_other(f"/p/{poll.id}")


@bp.post("/p/<int:poll_id>/unvote")
def unvote(poll_id: int):
    return _admin_action(poll_id, lambda p, u: service.remove_vote(actor_id=u.id, poll_id=p.id),
                         _l("Your vote is removed. You can vote again until the poll closes."), field="vote",
                         signed_out=sign_in_first)


def _admin_action(poll_id: int, action, success, *, field: str = "admin", signed_out=None):
    """One of the poll page's small forms: `action(poll, user)`, then 303 with `success`; a refusal is the
    page again with the error by `field`. Signed out: 404, or `signed_out(next)` (a sign-in) for voters' forms."""
    poll = poll_or_404(poll_id)
    user = signed_in_user()
    if user is None:
        if signed_out is not None:
            return signed_out(f"/p/{poll_id}")
        abort(404)
    try:
        action(poll, user)
    except DomainError as error:
        return _page(poll, errors={error.field or field: error.message}, form=dict(request.form), status=422
                     if isinstance(error, Invalid) else 403)
    flash(str(success), "success")
    return see_other(f"/p/{poll.id}")


@bp.post("/p/<int:poll_id>/close")
def close(poll_id: int):
    return _admin_action(poll_id, lambda p, u: service.close_poll(actor_id=u.id, poll_id=p.id),
                         _l("The poll is closed."))


@bp.post("/p/<int:poll_id>/reopen")
def reopen(poll_id: int):
    def act(poll, user):
        closing = _parse_local(request.form.get("closing_at", ""), _zone(), "reopen",
                               _l("Please give the new closing time as a date and time, like 2025-06-30 18:00."))
        service.reopen_poll(actor_id=user.id, poll_id=poll.id, closing_at=closing)

    return _admin_action(poll_id, act, _l("The poll is open again."), field="reopen")


@bp.post("/p/<int:poll_id>/open")
def open_draft(poll_id: int):
    def act(poll, user):
        raw = (request.form.get("closing_at") or "").strip()
        closing = _parse_local(raw, _zone(), "closing_at", CLOSING_TIME_FORMAT) if raw else None
        service.open_poll(actor_id=user.id, poll_id=poll.id, closing_at=closing)

    return _admin_action(poll_id, act, _l("The poll is open for votes; everyone who may vote is emailed."),
                         field="closing_at")


@bp.post("/p/<int:poll_id>/remind")
def remind(poll_id: int):
    def act(poll, user):
        service.remind(actor_id=user.id, poll_id=poll.id, message=request.form.get("message", ""))

    return _admin_action(poll_id, act, _l("Reminder sent to everyone who has not voted yet."), field="message")


@bp.post("/p/<int:poll_id>/remind/person")
def remind_person(poll_id: int):
    def act(poll, user):
        raw = (request.form.get("person_id") or "").strip()
        if not raw.isdigit():
            raise Invalid(_("Choose whom to remind."), field="person")
        service.remind_person(actor_id=user.id, poll_id=poll.id, person_id=int(raw),
                              message=request.form.get("message", ""))

    return _admin_action(poll_id, act, _l("Reminder sent."), field="person")


@bp.post("/p/<int:poll_id>/thread")
def add_to_thread(poll_id: int):
    def act(poll, user):
        raw = (request.form.get("discussion_id") or "").strip()
        if not raw.isdigit():
            raise Invalid(_("Please choose one of the group's threads."), field="discussion_id")
        service.add_to_thread(actor_id=user.id, poll_id=poll.id, discussion_id=int(raw))

    return _admin_action(poll_id, act, _l("The poll is in the thread now, and follows its privacy."),
                         field="discussion_id")


@bp.post("/p/<int:poll_id>/outcome")
def outcome(poll_id: int):
    def act(poll, user):
        raw = (request.form.get("option_id") or "").strip()
        option_id = int(raw) if raw.isdigit() else None
        if raw and option_id is None:
            raise Invalid(_("Please choose one of this poll's options."), field="option_id")
        review_at = service.check_review_at(_parse_day(request.form.get("review_at", ""), _zone(), "review_at"))
        service.set_outcome(actor_id=user.id, poll_id=poll.id, statement=request.form.get("statement", ""),
                            option_id=option_id)
        if review_at is not None:
            service.set_review(actor_id=user.id, poll_id=poll.id, review_at=review_at)

    return _admin_action(poll_id, act, _l("The outcome is published."), field="statement")


@bp.post("/p/<int:poll_id>/outcome/withdraw")
def withdraw_outcome(poll_id: int):
    return _admin_action(poll_id, lambda p, u: meetings.withdraw_outcome(actor_id=u.id, poll_id=p.id),
                         _l("The outcome is withdrawn; a meeting invitation was cancelled in members' calendars."))


# --- editing an open poll ---------------------------------------------------------------------

def _edit_page(poll: Poll, form: dict, errors: dict | None = None, status: int = 200):
    options = ordered_options(poll)
    return render_template("polls/edit.html", poll=poll, kind=get_type(poll.poll_type), options=options, form=form,
                           errors=errors or {}, zone=_zone(), closing_soon_choices=CLOSING_SOON_CHOICES,
                           prompt_options=[(f"prompt-{o.id}", o.name, form.get(f"prompt-{o.id}", o.reason_prompt or ""))
                                           for o in options],
                           votes_by_option={o.id: service.votes_on([o.id]) for o in options}), status


def _editor(poll_id: int):
    poll = poll_or_404(poll_id)
    user = signed_in_user()
    if user is None:
        return poll, None, sign_in_first(f"/p/{poll_id}/edit")
    if not policy.can_edit_poll(user, poll):
        abort(403, description=_("Only the poll's author or a group admin can change it, and only while it is open."))
    return poll, user, None


@bp.get("/p/<int:poll_id>/edit")
def edit_form(poll_id: int):
    poll, _user, refused = _editor(poll_id)
    if refused is not None:
        return refused
    form = {"title": poll.title, "details": poll.details or "", "closing_at": _local_input(poll.closing_at, _zone()),
            "voters_can_add_options": "1" if poll.voters_can_add_options else "", **_running_values(poll)}
    return _edit_page(poll, form)


@bp.post("/p/<int:poll_id>/edit")
def edit(poll_id: int):
    poll, user, refused = _editor(poll_id)
    if refused is not None:
        return refused
    form = {k: request.form.get(k) for k in request.form}
    try:
        closing = _parse_local(form.get("closing_at", ""), _zone(), "closing_at", CLOSING_TIME_FORMAT)
        running = service.clean_running(poll.poll_type, _running_form(request.form))  # checked before anything is saved
        prompts = {o.id: form.get(f"prompt-{o.id}") for o in poll.options if f"prompt-{o.id}" in form}
        edits = None
        if get_type(poll.poll_type).takes_option_names:
            edits = service.OptionEdits(
                renames={o.id: form.get(f"option-{o.id}", o.name) for o in poll.options},
                removals=frozenset(o.id for o in poll.options if form.get(f"remove-{o.id}")),
                additions=tuple(line for line in (form.get("new_options") or "").splitlines() if line.strip()))
        service.edit_poll(actor_id=user.id, poll_id=poll.id, title=form.get("title", ""),
                          details=form.get("details", ""), closing_at=closing, options=edits,
                          voters_can_add_options=form.get("voters_can_add_options") == "1",
                          confirmed=form.get("confirm") == "1")
        service.update_running(actor_id=user.id, poll_id=poll.id, settings=running, option_prompts=prompts)
    except service.NeedsConfirmation as error:
        form.pop("confirm", None)
        return _edit_page(poll, form, {"confirm": error.message}, status=200)
    except DomainError as error:
        form.pop("confirm", None)
        return _edit_page(poll, form, {error.field or "form": error.message}, status=422)
    flash(_("Your changes are saved."), "success")
    return see_other(f"/p/{poll.id}")


@bp.post("/p/<int:poll_id>/options")
def add_option(poll_id: int):
    def act(poll, user):
        service.add_option(actor_id=user.id, poll_id=poll.id, name=request.form.get("option_name", ""))

    return _admin_action(poll_id, act, _l("Your option is added: you can vote for it now."), field="option_name",
                         signed_out=sign_in_first)


@bp.post("/p/<int:poll_id>/delete")
def delete(poll_id: int):
    poll = poll_or_404(poll_id)
    user = signed_in_user()
    if user is None:
        abort(404)
    try:
        service.delete_poll(actor_id=user.id, poll_id=poll.id)
    except DomainError as error:
        return _page(poll, errors={"admin": error.message}, status=403)
    flash(_("The poll is deleted."), "success")
    if poll.discussion_id:
        return see_other(f"/d/{poll.discussion_id}")
    return see_other(f"/g/{poll.group.handle}")


@bp.get("/p/<int:poll_id>/results.csv")
def results_csv(poll_id: int):
    poll = poll_or_404(poll_id)
    try:
        body = service.csv_export(signed_in_user(), poll)
    except DomainError as error:
        abort(403, description=error.message)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="poll-{poll.id}-results.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/p/<int:poll_id>/outcome.ics")
def outcome_ics(poll_id: int):
    poll = poll_or_404(poll_id)
    outcome = service.latest_outcome(poll.id)
    if outcome is None:
        abort(404)
    try:
        body = service.outcome_ics(poll, outcome)
    except NotFound:
        abort(404)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="poll-{poll.id}.ics"'
    return response


# --- starting a poll -----------------------------------------------------------------------

def _creation_context(group, discussion, poll_type: str | None, form=None, errors=None):
    zone = _zone()
    kind = POLL_TYPES.get(poll_type or "")
    defaults = {}
    if kind is not None:
        from datetime import timedelta

        from ..models import utcnow

        closing = (utcnow() + timedelta(days=kind.default_closing_days)).replace(second=0, microsecond=0)
        defaults = {"closing_at": _local_input(closing, zone), "time_zone": zone, "reason_mode": kind.default_reason_mode,
                    "hide_results": "off", "voter_scope": "group", "reason_max_length": "2000",
                    **{name: str(value) for name, value in kind.setting_defaults().items()}}
    values = {**defaults, **(form or {})}
    action = f"/d/{discussion.id}/p/new" if discussion else f"/g/{group.handle}/p/new"
    from .account import zones

    from .people import notify_choices

    prompt_options = [(f"prompt-{i}", name, values.get(f"prompt-{i}", "")) for i, name in
                      enumerate(kind.default_options() if kind is not None and kind.fixed_options else [])]
    context = dict(group=group, discussion=discussion, kind=kind, types=list(POLL_TYPES.values()),
                form=values, errors=errors or {}, action=action, zones=zones(), hide_choices=HIDE_CHOICES,
                reason_choices=REASON_CHOICES, closing_soon_choices=CLOSING_SOON_CHOICES,
                prompt_options=prompt_options, notify_choices=notify_choices(group, current_user))
    context.update(_process_context(group, kind, values))
    return context


def _process_context(group, kind, values: dict) -> dict:
    """The decision processes a poll of this kind may follow (the chosen one's options and meanings shown), and
    the group's poll templates offered on the chooser."""
    from ..polls.decision_processes import PROCESSES, processes_for
    from ..services import templates

    fitting = processes_for(kind) if kind is not None else []
    if fitting and "process" not in values:
        values["process"] = fitting[0].name
    return dict(processes=fitting, all_processes=list(PROCESSES.values()),
                process=PROCESSES.get(values.get("process") or "") if fitting else None,
                templates=templates.offered(signed_in_user(), group, "poll"))


def _template_values(group) -> tuple[str | None, dict | None]:
    """`?template=` (a template the group offers) or `?process=` as the type and the form's first values."""
    from ..services import templates

    ref = request.args.get("template")
    if ref:
        try:
            chosen = templates.template_of(signed_in_user(), group, ref, "poll")
        except NotFound:
            abort(404)
        values = {"title": chosen.title, "details": chosen.details, "options": "\n".join(chosen.options)}
        if chosen.process:
            values["process"] = chosen.process
        return chosen.poll_type, values
    if request.args.get("process"):
        return request.args.get("type"), {"process": request.args["process"]}
    return request.args.get("type"), None


def _creator(group):
    """The person starting a poll here, or the response that refuses them."""
    user = signed_in_user()
    if user is None:
        return None, sign_in_first()
    if not policy.can_create_poll(user, group):
        abort(403, description=_("Only this group's admins can start polls here."))
    return user, None


def _new_form(group, discussion):
    _user, refused = _creator(group)
    if refused is not None:
        return refused
    poll_type, values = _template_values(group)
    return render_template("polls/new.html", **_creation_context(group, discussion, poll_type, values))


def _create(group, discussion):
    from .people import notify_from_form, say_left_out

    user, refused = _creator(group)
    if refused is not None:
        return refused
    form = request.form
    poll_type = form.get("poll_type", "")
    values = {k: form.get(k) for k in form}
    try:
        if poll_type not in POLL_TYPES:
            raise Invalid(_("Please choose one of the poll types."), field="poll_type")
        zone = form.get("time_zone") or _zone()  # the service refuses a zone it does not know
        closing = _parse_local(form.get("closing_at", ""), _zone(), "closing_at", CLOSING_TIME_FORMAT)
        slots = None
        if POLL_TYPES[poll_type].options_are_slots:
            slots = [_parse_local(line, zone, "slots",
                                  _l("Please give each time slot as a date and time, like 2025-06-30 18:00."))
                     for line in (form.get("slots") or "").splitlines() if line.strip()]
        ints = {name: _optional_int(form, name, message) for name, message in (
            ("reason_max_length", _l("The reason length limit must be a whole number.")),
            ("min_choices", _l("The minimum number of choices must be a whole number.")),
            ("max_choices", _l("The maximum number of choices must be a whole number.")),
            ("dots_per_person", _l("The number of dots must be a whole number.")),
            ("min_score", _l("The minimum score must be a whole number.")),
            ("max_score", _l("The maximum score must be a whole number.")),
            ("minimum_rank", _l("The number of options to rank must be a whole number.")),
            ("target", _l("The target must be a whole number.")),
            ("duration_minutes", _l("The meeting length must be a whole number.")))}
        poll = service.create_poll(
            actor_id=user.id, group_id=group.id, discussion_id=discussion.id if discussion else None,
            poll_type=poll_type, title=form.get("title", ""), details=form.get("details", ""), closing_at=closing,
            options=[line for line in (form.get("options") or "").splitlines() if line.strip()], slots=slots,
            time_zone=zone, anonymous=form.get("anonymous") == "1", hide_results=form.get("hide_results", "off"),
            voter_scope=form.get("voter_scope", "group"),
            voters=[v for chunk in (form.get("voters") or "").replace(",", "\n").splitlines() for v in [chunk.strip()] if v],
            reason_mode=form.get("reason_mode") or None, allow_none_of_the_above=form.get("allow_none_of_the_above") == "1",
            voters_can_add_options=form.get("voters_can_add_options") == "1", draft=form.get("draft") == "1", **ints,
            process=form.get("process") or None,
            notify=notify_from_form(form), include_guests=form.get("include_guests") == "1",
            running=_running_form(form), option_prompts={name: form.get(f"prompt-{i}") for i, name in enumerate(
                POLL_TYPES[poll_type].default_options() if POLL_TYPES[poll_type].fixed_options else []) if form.get(f"prompt-{i}")},
        )
    except DomainError as error:
        values["notify_groups"] = form.getlist("notify_groups")
        context = _creation_context(group, discussion, poll_type, values, {error.field or "form": error.message})
        return render_template("polls/new.html", **context), 422
    say_left_out(poll)
    flash(_("Your draft is saved: nobody else sees it until you open it.") if poll.draft else
          _("Your poll is open for votes."), "success")
    return see_other(f"/p/{poll.id}")


# GET (and so HEAD) shows the form; only the POST view creates. One route per method, never a
# branch on request.method: Flask answers HEAD with the GET view, and CSRF checks only POST.
@bp.get("/g/<handle>/p/new")
def new_in_group(handle: str):
    return _new_form(group_or_404(handle), None)


@bp.post("/g/<handle>/p/new")
def create_in_group(handle: str):
    return _create(group_or_404(handle), None)


def _open_thread(discussion_id: int):
    discussion = discussion_or_404(discussion_id)
    if discussion.closed_at is not None:
        abort(403, description=_("This thread is closed, so no new polls can start in it."))
    return discussion


@bp.get("/d/<int:discussion_id>/p/new")
def new_in_thread(discussion_id: int):
    discussion = _open_thread(discussion_id)
    return _new_form(discussion.group, discussion)


@bp.post("/d/<int:discussion_id>/p/new")
def create_in_thread(discussion_id: int):
    discussion = _open_thread(discussion_id)
    return _create(discussion.group, discussion)


# --- one-click vote from an email ------------------------------------------------------------

def _read_vote_token(token: str) -> tuple[int, int, int] | None:
    """(user id, poll id, option id) from a signed one-click link, or None."""
    payload = links.verify(token, "vote")
    if payload is None or "poll_id" not in payload or "option_id" not in payload:
        return None
    return payload["user_id"], payload["poll_id"], payload["option_id"]


def _one_click_context(poll_id: int, token: str):
    data = _read_vote_token(token)
    if data is None or data[1] != poll_id:
        abort(410, description=_("This voting link is not valid (it may be too old). Please vote on the poll page."))
    user_id, _poll_id, option_id = data
    try:
        return service.one_click_target(user_id=user_id, poll_id=poll_id, option_id=option_id)
    except NotFound:
        abort(404)


@bp.get("/p/<int:poll_id>/vote/<token>")
def one_click(poll_id: int, token: str):
    """Mail scanners open links: this page only shows the button; the POST votes."""
    poll, voter, option = _one_click_context(poll_id, token)
    mine = service.current_stance(voter.id, poll.id)
    return render_template("polls/one_click.html", poll=poll, voter=voter, option=option, token=token,
                           errors={}, form={}, done=request.args.get("done") == "1",
                           current=get_type(poll.poll_type).describe_choices(poll, mine.choices, voter.time_zone) if mine else "")


@bp.post("/p/<int:poll_id>/vote/<token>")
def one_click_confirm(poll_id: int, token: str):
    poll, voter, option = _one_click_context(poll_id, token)
    try:
        choices = service.one_click_choices(poll, option.id)
        service.cast_vote(actor_id=voter.id, poll_id=poll.id, choices=choices,
                          reason=request.form.get("reason") or None, source="link")
    except DomainError as error:
        return render_template("polls/one_click.html", poll=poll, voter=voter, option=option, token=token,
                               errors={"vote": error.message}, form=dict(request.form), done=False,
                               current=""), 422
    return see_other(f"/p/{poll.id}/vote/{token}?done=1")


