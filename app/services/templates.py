"""Thread and poll templates: the built-in ones (meeting agenda, retrospective, decision, quick check and
one per decision process) and a group's own, made from a thread or a poll or added by an admin. The group's
admins hide, show, reorder and delete them; starting a thread or a poll offers the visible ones, and
choosing one fills in the form (nothing is started until the member sends it).

A built-in template keeps its words in DEFAULTS (so it improves with new versions); a group's row for it
only places or hides it. Rows are made for every built-in template the first time an admin reorders or
hides anything, so positions are one plain list from then on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from .. import policy
from ..i18n import _, _l, number
from ..extensions import db
from ..models import TEMPLATE_KINDS, Discussion, Group, Poll, Template
from ..polls import POLL_TYPES, get_type
from ..polls.base import in_sentence, ordered_options
from ..polls.decision_processes import PROCESSES, english, get_process
from ..text import one_line
from . import audit
from .accounts import acting_member
from .errors import Invalid, NotAllowed, NotFound

NAME_MAX = 100
TITLE_MAX = 200
DETAILS_MAX = 20_000
OPTION_MAX = 200
MAX_OPTIONS = 50
MAX_PER_GROUP = 100


@dataclass(frozen=True)
class Entry:
    """One template as a group's list shows it: `ref` is the built-in key, or the group's own row id."""

    ref: str
    kind: str  # thread | poll
    name: str  # a built-in's is a lazy catalog string (shown in the reader's language; stored in English)
    title: str = ""
    details: str = ""
    poll_type: str | None = None
    process: str | None = None
    options: list[str] = field(default_factory=list)
    hidden: bool = False
    built_in: bool = False

    @property
    def what(self) -> str:
        """What starting from it makes, in words ("Thread", "Consent decision", "Sense check")."""
        if self.kind == "thread":
            return _("Thread")
        process = PROCESSES.get(self.process or "")
        if process is not None:
            return process.label
        kind = POLL_TYPES.get(self.poll_type or "")
        return kind.label if kind is not None else _("Poll")


def _process_entry(key: str, name: str, process_name: str) -> Entry:
    process = PROCESSES[process_name]
    return Entry(key, "poll", name, process.title, process.details, process.poll_type, process.name, built_in=True)


# A built-in template's name is shown in the reader's language; its title and text fill the form and so
# become the new thread's or poll's own words: they stay English.
DEFAULTS: tuple[Entry, ...] = (
    Entry("meeting-agenda", "thread", _l("Meeting agenda"), "Meeting agenda: ",
          "**When:** \n**Where:** \n\n## Agenda\n1. Check-in\n2. \n3. \n\n## Decisions to take\n\n"
          "## Anything else\n", built_in=True),
    _process_entry("decision", _l("Decision"), "proposal"),
    Entry("retrospective", "thread", _l("Retrospective"), "Looking back: ",
          "## What went well\n\n\n## What could have gone better\n\n\n## What we will try next time\n", built_in=True),
    Entry("quick-check", "poll", _l("Quick check"), "Quick check: ",
          "Before we go further: does this look right?\n", "check", built_in=True),
    _process_entry("consent", _l("Consent decision"), "consent"),
    _process_entry("consensus", _l("Consensus decision"), "consensus"),
    _process_entry("advice", _l("Advice process"), "advice"),
    _process_entry("gradients", _l("Gradients of agreement"), "gradients"),
)
_DEFAULTS = {e.ref: e for e in DEFAULTS}


# --- reading ------------------------------------------------------------------------------------

def _rows(group_id: int) -> list[Template]:
    return list(db.session.scalars(select(Template).where(Template.group_id == group_id)
                                   .order_by(Template.position, Template.id)))


def _entry(row: Template) -> Entry:
    if row.default_key is not None:
        base = _DEFAULTS[row.default_key]
        return Entry(**{**base.__dict__, "hidden": row.hidden})
    return Entry(str(row.id), row.kind, row.name, row.title, row.details, row.poll_type, row.process,
                 list(row.options or []), row.hidden)


def _ordered(group_id: int) -> list[tuple[Entry, Template | None]]:
    """Every template of the group, in its order: its rows, and built-ins it has no row for yet (by
    their place in DEFAULTS, before the group's own unless it has placed them)."""
    rows = [r for r in _rows(group_id) if r.default_key is None or r.default_key in _DEFAULTS]
    placed = {r.default_key for r in rows if r.default_key}
    if placed:  # the group has ordered its list: every built-in has its row
        return [(_entry(r), r) for r in rows]
    return [(e, None) for e in DEFAULTS] + [(_entry(r), r) for r in rows]


def listing(user, group: Group) -> list[Entry]:
    """The group's whole list, hidden ones too, for its admins' page."""
    if not policy.can_manage_templates(user, group):
        raise NotAllowed(_("Only this group's admins can change its templates."))
    return [e for e, _ in _ordered(group.id)]


def _may_start(user, group: Group, kind: str) -> bool:
    return policy.can_start_thread(user, group) if kind == "thread" else policy.can_create_poll(user, group)


def offered(user, group: Group, kind: str) -> list[Entry]:
    """The visible templates of this kind that starting a thread or poll here offers this person."""
    if not _may_start(user, group, kind):
        return []
    return [e for e, _ in _ordered(group.id) if e.kind == kind and not e.hidden]


def template_of(user, group: Group, ref: str, kind: str) -> Entry:
    """One template of the group to fill a form with (a hidden one too, for a bookmarked link)."""
    if not _may_start(user, group, kind):
        raise NotFound(_("There is no such template."))
    for entry, _row in _ordered(group.id):
        if entry.ref == ref and entry.kind == kind:
            return entry
    raise NotFound(_("There is no such template."))


# --- changing -----------------------------------------------------------------------------------

def _admin_group(actor_id: int, group_id: int):
    user = acting_member(actor_id)
    group = db.session.get(Group, group_id)
    if group is None or not policy.can_see_group(user, group):
        raise NotFound(_("There is no such group."))
    if not policy.can_manage_templates(user, group):
        raise NotAllowed(_("Only this group's admins can change its templates."))
    return user, group


def _placed_rows(group_id: int) -> list[Template]:
    """The group's rows with every built-in placed, numbered 0, 1, 2… in the order shown."""
    ordered = _ordered(group_id)
    rows = []
    for i, (entry, row) in enumerate(ordered):
        if row is None:
            row = Template(group_id=group_id, default_key=entry.ref, kind=entry.kind, name=english(entry.name))
            db.session.add(row)
        row.position = i
        rows.append(row)
    db.session.flush()
    return rows


def _find(rows: list[Template], ref: str) -> int:
    for i, row in enumerate(rows):
        if (row.default_key or str(row.id)) == ref:
            return i
    raise NotFound(_("There is no such template."))


def move_template(*, actor_id: int, group_id: int, ref: str, direction: str) -> None:
    """Move a template one place up or down the group's list (at either end it stays)."""
    _admin_group(actor_id, group_id)
    if direction not in ("up", "down"):
        raise Invalid(_("Move a template up or down."), field="direction")
    rows = _placed_rows(group_id)
    i = _find(rows, ref)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(rows):
        rows[i].position, rows[j].position = rows[j].position, rows[i].position
    db.session.commit()


def set_hidden(*, actor_id: int, group_id: int, ref: str, hidden: bool) -> None:
    """Hide a template from the start-a-thread and start-a-poll pages, or show it again."""
    user, group = _admin_group(actor_id, group_id)
    rows = _placed_rows(group_id)
    row = rows[_find(rows, ref)]
    row.hidden = bool(hidden)
    audit.record(user.id, group.id, "template_hidden" if hidden else "template_shown", template=row.name)
    db.session.commit()


def delete_template(*, actor_id: int, group_id: int, ref: str) -> None:
    """Delete one of the group's own templates (a built-in one can only be hidden)."""
    user, group = _admin_group(actor_id, group_id)
    if ref in _DEFAULTS:
        raise Invalid(_("A built-in template can't be deleted; hide it instead."), field="template")
    row = db.session.get(Template, int(ref)) if ref.isdigit() and len(ref) < 10 else None
    if row is None or row.group_id != group.id or row.default_key is not None:
        raise NotFound(_("There is no such template."))
    audit.record(user.id, group.id, "template_deleted", template=row.name)
    db.session.delete(row)
    db.session.commit()


def add_template(*, actor_id: int, group_id: int, kind: str, name: str, title: str = "", details: str = "",
                 poll_type: str | None = None, process: str | None = None, options: list[str] | None = None) -> Template:
    """Add one of the group's own templates, at the end of its list."""
    user, group = _admin_group(actor_id, group_id)
    return _add(user, group, kind=kind, name=name, title=title, details=details, poll_type=poll_type,
                process=process, options=options)


def save_thread_as_template(*, actor_id: int, discussion_id: int, name: str = "") -> Template:
    """The thread's title and opening post as a template of its group."""
    user = acting_member(actor_id)
    discussion = db.session.get(Discussion, discussion_id)
    if discussion is None or not policy.can_view_discussion(user, discussion):
        raise NotFound(_("There is no such thread."))
    if not policy.can_manage_templates(user, discussion.group):
        raise NotAllowed(_("Only this group's admins can add templates."))
    return _add(user, discussion.group, kind="thread", name=name or discussion.title, title=discussion.title,
                details=discussion.body or "")


def save_poll_as_template(*, actor_id: int, poll_id: int, name: str = "") -> Template:
    """The poll's type, process, title, details and (where members name them) options as a template."""
    user = acting_member(actor_id)
    poll = db.session.get(Poll, poll_id)
    if poll is None or not policy.can_view_poll(user, poll):
        raise NotFound(_("There is no such poll."))
    group = policy.poll_group(poll)
    if not policy.can_manage_templates(user, group):
        raise NotAllowed(_("Only this group's admins can add templates."))
    kind = get_type(poll.poll_type)
    options = [o.name for o in ordered_options(poll)] if kind.takes_option_names else []
    return _add(user, group, kind="poll", name=name or poll.title, title=poll.title, details=poll.details or "",
                poll_type=poll.poll_type, process=poll.process, options=options)


def _add(user, group: Group, *, kind: str, name: str, title: str, details: str, poll_type: str | None = None,
         process: str | None = None, options: list[str] | None = None) -> Template:
    if kind not in TEMPLATE_KINDS:
        raise Invalid(_("Choose whether the template starts a thread or a poll."), field="kind")
    name = one_line(name)
    if not name:
        raise Invalid(_("Please give the template a name."), field="name")
    if len(name) > NAME_MAX:
        raise Invalid(_("A template's name can be at most %(limit)s characters.", limit=NAME_MAX), field="name")
    title = one_line(title)
    if len(title) > TITLE_MAX:
        raise Invalid(_("Titles can be at most %(limit)s characters.", limit=TITLE_MAX), field="title")
    details = (details or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if len(details) > DETAILS_MAX:
        raise Invalid(_("The text can be at most %(limit)s characters.", limit=number(DETAILS_MAX)), field="details")
    names: list[str] = []
    if kind == "poll":
        kind_of_poll = POLL_TYPES.get(poll_type or "")
        if kind_of_poll is None:
            raise Invalid(_("Please choose one of the poll types."), field="poll_type")
        try:
            chosen = get_process(process or None)
        except KeyError:
            raise Invalid(_("Please choose one of the decision processes."), field="process") from None
        if chosen is not None and not chosen.fits(kind_of_poll):
            raise Invalid(_("A %(type)s can't follow the %(process)s.", type=in_sentence(kind_of_poll.label),
                            process=in_sentence(chosen.label)), field="process")
        if kind_of_poll.takes_option_names:
            names = [n for n in (one_line(o) for o in (options or [])) if n]
            if len(names) > MAX_OPTIONS or any(len(n) > OPTION_MAX for n in names):
                raise Invalid(_("At most %(count)s options of at most %(limit)s characters.", count=MAX_OPTIONS, limit=OPTION_MAX),
                              field="options")
        process = chosen.name if chosen is not None else None
    else:
        poll_type = process = None
    count = db.session.scalar(select(func.count(Template.id)).where(Template.group_id == group.id)) or 0
    if count >= MAX_PER_GROUP + len(DEFAULTS):
        raise Invalid(_("A group can keep at most %(limit)s templates of its own.", limit=MAX_PER_GROUP), field="name")
    last = db.session.scalar(select(func.max(Template.position)).where(Template.group_id == group.id))
    start = len(DEFAULTS) if last is None else last + 1
    row = Template(group_id=group.id, kind=kind, name=name, title=title, details=details, poll_type=poll_type,
                   process=process, options=names, position=start, author_id=user.id)
    db.session.add(row)
    audit.record(user.id, group.id, "template_added", template=name, kind=kind)
    db.session.commit()
    return row
