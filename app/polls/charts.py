"""Results as server-rendered HTML with inline SVG bars: no JavaScript, no inline styles (CSP).

Every chart is a table first (the numbers are text, readable by screen readers and in
text browsers); the SVG bar is decoration sized with presentation attributes.
"""
from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

from ..i18n import _, option_label
from .base import Results, ordered_options
from .meeting import MAYBE, YES
from .. import timezones

COLOURS = {
    "agree": "#15803d", "looks good": "#15803d", "in": "#15803d", "yes": "#15803d",
    "abstain": "#a1a1aa", "not sure": "#ca8a04", "maybe": "#ca8a04",
    "disagree": "#c2410c", "concerned": "#c2410c", "out": "#a1a1aa", "no": "#e4e4e7",
    "block": "#b91c1c",
}
PALETTE = ["#2563eb", "#7c3aed", "#0891b2", "#db2777", "#65a30d", "#ea580c", "#4f46e5", "#0d9488"]


def colour(name: str, index: int) -> str:
    return COLOURS.get(name.strip().lower(), PALETTE[index % len(PALETTE)])


def bar(percent: float, fill: str, label: str = "") -> Markup:
    """One horizontal bar, `percent` of the cell wide."""
    width = max(0.0, min(100.0, percent))
    return Markup(
        '<svg class="bar" width="100%" height="14" viewBox="0 0 100 14" preserveAspectRatio="none" '
        'role="img" aria-label="{label}"><rect x="0" y="0" width="100" height="14" fill="#f4f4f5"/>'
        '<rect x="0" y="0" width="{w:.2f}" height="14" fill="{fill}"/></svg>'
    ).format(label=label or f"{width:.0f}%", w=width, fill=fill)


def _pct(value: float) -> str:
    return f"{value:.0f}%"


def bar_chart(results: Results, *, value: str = "voters") -> Markup:
    """A table of options with counts, percentages and a bar each."""
    head = {"score": _("Points"), "dots": _("Dots")}.get(value) or _("Votes")
    rows = []
    for i, row in enumerate(results.options):
        amount = row.voter_count if value == "voters" else row.score_total
        extra = ""
        if row.average is not None:
            extra = Markup(' <span class="meta">{}</span>').format(_("(average %(average)s)", average=f"{row.average:.1f}"))
        rows.append(Markup(
            '<tr><th scope="row">{name}</th><td class="num">{amount}</td><td class="num">{pct}</td>'
            '<td class="barcell">{bar}</td></tr>'
        ).format(name=option_label(row.name), amount=Markup("{}{}").format(amount, extra), pct=_pct(row.percent),
                 bar=bar(row.percent, colour(row.name, i), f"{option_label(row.name)}: {_pct(row.percent)}")))
    return Markup(
        '<table class="results"><thead><tr><th scope="col">{option}</th><th scope="col">{head}</th>'
        '<th scope="col">{share}</th><th scope="col"><span class="visually-hidden">{chart}</span></th></tr></thead>'
        '<tbody>{rows}</tbody></table>'
    ).format(option=_("Option"), head=head, share=_("Share"), chart=_("Chart"), rows=Markup("").join(rows))


def count_progress(results: Results) -> Markup:
    """Progress towards a count poll's target."""
    if not results.target:
        return Markup("")
    done = round((results.progress or 0) * results.target)
    pct = min(100.0, (results.progress or 0) * 100)
    return Markup('<p class="progress">{text} {bar}</p>').format(
        text=_("%(done)s of %(target)s needed", done=done, target=results.target),
        bar=bar(pct, "#15803d", _("%(done)s of %(target)s", done=done, target=results.target)))


def irv_rounds(results: Results, *, closed: bool = True) -> Markup:
    """Instant-runoff rounds: each option's count per round, who was eliminated, who won (or, while the
    poll is open, who is leading: nobody has won a vote that can still change)."""
    if not results.rounds:
        return Markup("")
    names = {r.option_id: option_label(r.name) for r in results.options}
    head = Markup("").join(Markup('<th scope="col">{}</th>').format(_("Round %(number)s", number=r.number))
                           for r in results.rounds)
    body = []
    for option_id, name in names.items():
        cells = []
        for r in results.rounds:
            if option_id in r.counts:
                mark = ""
                if r.winner_id == option_id:
                    mark = " ✔ " + (_("wins") if closed else _("leads"))
                elif r.eliminated_id == option_id:
                    mark = " ✘ " + _("out")
                cells.append(Markup("<td>{}{}</td>").format(r.counts[option_id], mark))
            else:
                cells.append(Markup("<td>–</td>"))
        body.append(Markup('<tr><th scope="row">{}</th>{}</tr>').format(name, Markup("").join(cells)))
    exhausted = Markup("").join(Markup("<td>{}</td>").format(r.exhausted) for r in results.rounds)
    winner = names.get(results.winner_id)
    if winner:
        caption = (_("Instant runoff: “%(option)s” wins", option=winner) if closed
                   else _("Instant runoff: “%(option)s” is leading", option=winner))
    else:
        caption = _("Instant runoff: no majority winner") if closed else _("Instant runoff: no majority yet")
    return Markup(
        '<table class="rounds"><caption>{caption}</caption><thead><tr><th scope="col">{option}</th>{head}</tr></thead>'
        '<tbody>{body}<tr><th scope="row">{exhausted_label}</th>{exhausted}</tr></tbody></table>'
    ).format(caption=caption, option=_("Option"), head=head, body=Markup("").join(body),
             exhausted_label=_("Exhausted ballots"), exhausted=exhausted)


def slot_label(starts_at: datetime | None, zone: str, fallback: str, duration: int | None = None) -> str:
    """A time slot in the reader's zone, e.g. "Tue 4 Mar, 18:30 (Europe/London)"."""
    if starts_at is None:
        return fallback
    return timezones.local_slot(starts_at, zone, duration)


def meeting_grid(poll, results: Results, voters: list | None = None, *, zone: str = "UTC") -> Markup:
    """Slots down the side (in the reader's zone), yes / maybe / no counts, the best slot marked.

    `voters` (who chose what, absent for anonymous polls) adds one column per voter; the table scrolls
    sideways in its own box, so a dozen voters do not widen a phone's page.
    """
    options = ordered_options(poll)
    rows_by_id = {r.option_id: r for r in results.options}
    voters = voters or []
    people = Markup("").join(Markup('<th scope="col">{}</th>').format(v.name) for v in voters)
    body = []
    symbols = {YES: ("yes", "✔ " + _("yes")), MAYBE: ("maybe", "~ " + _("maybe"))}
    for o in options:
        r = rows_by_id.get(o.id)
        if r is None:
            continue
        best = results.best_option_id == o.id
        cells = Markup("").join(
            Markup('<td class="{}">{}</td>').format(*symbols.get(v.choices.get(o.id, 0), ("no", "✘ " + _("no"))))
            for v in voters)
        body.append(Markup(
            '<tr{cls}><th scope="row">{label}{best}</th><td class="num">{yes}</td><td class="num">{maybe}</td>'
            '<td class="num">{no}</td><td class="barcell">{bar}</td>{cells}</tr>'
        ).format(
            cls=Markup(' class="best"') if best else "",
            label=slot_label(o.starts_at, zone, o.name, o.duration_minutes),
            best=Markup(' <strong class="pill">{}</strong>').format(_("best")) if best else "",
            yes=r.yes, maybe=r.maybe, no=r.no, bar=bar(r.percent, "#15803d", _("%(num)s yes", num=r.yes)), cells=cells))
    return Markup(
        '<div class="scroll" role="region" aria-label="{by_time}" tabindex="0">'
        '<table class="results meeting"><thead><tr><th scope="col">{time}</th><th scope="col">{yes}</th>'
        '<th scope="col">{maybe}</th><th scope="col">{no}</th><th scope="col"><span class="visually-hidden">{chart}</span></th>'
        '{people}</tr></thead><tbody>{body}</tbody></table></div>'
    ).format(by_time=_("Results by time"), time=_("Time"), yes=_("Yes"), maybe=_("Maybe"), no=_("No"), chart=_("Chart"),
             people=people, body=Markup("").join(body))


def render_results(poll, results: Results, voters: list | None = None, *, zone: str = "UTC") -> Markup:
    """The right chart for the poll's type."""
    kind = poll.poll_type
    if kind == "question":
        return Markup("")
    if kind == "meeting":
        return meeting_grid(poll, results, voters, zone=zone)
    parts = []
    if kind == "proposal" and results.blocked:
        parts.append(Markup('<p class="block-warning" role="alert">{}</p>').format(
            Markup(_("<strong>Blocked:</strong> at least one member has blocked this proposal."))))
    value = {"dot_vote": "dots", "score": "score", "ranked_choice": "score"}.get(kind, "voters")
    parts.append(bar_chart(results, value=value))
    if kind == "count":
        parts.append(count_progress(results))
    if kind == "ranked_choice":
        parts.append(Markup('<p class="meta">{}</p>').format(
            _("Points are a Borda count: with n options, a first choice scores n, a second n − 1, and so on.")))
        parts.append(irv_rounds(results, closed=poll.closed_at is not None))
    return Markup("").join(parts)


__all__ = ["bar", "bar_chart", "count_progress", "irv_rounds", "meeting_grid", "render_results", "slot_label", "escape"]
