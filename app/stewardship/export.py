"""Group export: a zip of complete JSON, CSV per table, an offline HTML archive and attachments.

Built by the `build_group_export` job with progress in GroupExport.progress; the download link
is emailed and lasts 7 days. Anonymous votes stay anonymous and hidden results stay hidden in
every format, because the CSV and the archive are made from the same filtered data as the JSON.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app, render_template
from sqlalchemy import or_, select

from .. import storage
from ..extensions import db
from ..i18n import _, in_locale, locale_for, option_label
from ..spreadsheets import SafeWriter
from ..models import Group, GroupExport, Participation, User, utcnow
from ..models.users import display_name
from ..services.errors import NotAllowed, NotFound
from ..tokens import hash_token, random_token
from ..services import audit
from . import mbox
from .schema import FORMAT, REDACTED, TABLES, USER_COLUMNS, VERSION

DOWNLOAD_LIFETIME = timedelta(days=7)
Progress = Callable[[int], None]


def _table(name: str):
    return db.metadata.tables[name]


def _value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _rows(name: str, where, order=None) -> list[dict]:
    table = _table(name)
    hidden = REDACTED.get(name, {})
    stmt = select(table).where(where).order_by(*(order or [table.c.id]))
    return [
        {key: _value(val) for key, val in row._mapping.items() if key not in hidden}
        for row in db.session.execute(stmt)
    ]


def _ids(name: str, where):
    table = _table(name)
    return select(table.c.id).where(where).scalar_subquery()


def _hidden_poll_ids(polls: list[dict], actor_id: int | None) -> set[int]:
    """Polls whose results must not be exported now: hidden until closed (or until the
    exporting admin has voted) and still open."""
    hidden = set()
    for poll in polls:
        if poll["closed_at"] is not None or poll.get("hide_results", "off") == "off":
            continue
        if poll["hide_results"] == "until_vote" and actor_id is not None and db.session.scalar(
            select(Participation.id).where(Participation.poll_id == poll["id"], Participation.user_id == actor_id)
        ):
            continue
        hidden.add(poll["id"])
    return hidden


def collect(group: Group, *, actor_id: int | None = None, progress: Progress | None = None) -> dict:
    """Everything the group holds, as plain JSON-ready data (rows per table)."""
    progress = progress or (lambda _p: None)
    t = _table
    gid = group.id
    discussions = _ids("discussions", t("discussions").c.group_id == gid)
    polls_q = _ids("polls", t("polls").c.group_id == gid)
    comments = _ids("comments", t("comments").c.discussion_id.in_(discussions))

    data: dict[str, list[dict]] = {}
    group_row = _rows("groups", t("groups").c.id == gid)[0]
    group_row["parent_handle"] = group.parent.handle if group.parent else None
    data["groups"] = [group_row]
    for name in ("memberships", "invitations", "join_requests", "sender_rules", "audit_logs",
                 "support_grants", "access_logs", "templates"):
        data[name] = _rows(name, t(name).c.group_id == gid)
    data["discussions"] = _rows("discussions", t("discussions").c.group_id == gid)
    data["polls"] = _rows("polls", t("polls").c.group_id == gid)
    progress(15)
    data["comments"] = _rows("comments", t("comments").c.discussion_id.in_(discussions))
    data["reactions"] = _rows("reactions", t("reactions").c.discussion_id.in_(discussions))
    data["read_states"] = _rows("read_states", t("read_states").c.discussion_id.in_(discussions))
    v = t("versions").c
    data["versions"] = _rows("versions", or_(
        (v.item_type == "discussion") & v.item_id.in_(discussions),
        (v.item_type == "comment") & v.item_id.in_(comments),
        (v.item_type == "poll") & v.item_id.in_(polls_q),
    ))
    progress(30)
    for name in ("poll_options", "poll_voters", "outcomes"):
        data[name] = _rows(name, t(name).c.poll_id.in_(polls_q))
    stances_q = _ids("stances", t("stances").c.poll_id.in_(polls_q))
    data["stances"] = _rows("stances", t("stances").c.poll_id.in_(polls_q))
    data["stance_choices"] = _rows("stance_choices", t("stance_choices").c.stance_id.in_(stances_q))
    pt = t("participations").c
    data["participations"] = _rows("participations", pt.poll_id.in_(polls_q), order=[pt.poll_id, pt.user_id])
    a = t("attachments").c
    data["attachments"] = _rows("attachments", or_(a.discussion_id.in_(discussions), a.comment_id.in_(comments),
                                                   a.poll_id.in_(polls_q)))
    e = t("events").c
    data["events"] = _rows("events", or_(e.group_id == gid, e.discussion_id.in_(discussions), e.poll_id.in_(polls_q)))
    progress(45)
    _protect_votes(data, actor_id)
    data["users"] = _users(data)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "source": current_app.config.get("BASE_URL", ""),
        "group_handle": group.handle,
        "tables": {name: data[name] for name in TABLES},
    }


def _protect_votes(data: dict, actor_id: int | None) -> None:
    """Anonymous polls: no stance names its voter, nor can be matched to one by time, order, id,
    source or history; no event of a vote is exported. Hidden results: no choices or reasons (in
    stances or in events) while the rule hides them."""
    anonymous = {p["id"] for p in data["polls"] if p["anonymous"]}
    hidden = _hidden_poll_ids(data["polls"], actor_id)
    hidden_stances = set()
    # Anonymous stances: the current votes only, sorted by what they say (an order that follows
    # nobody, and the same on every export), renumbered after every other stance.
    anonymous_stance_ids = {s["id"] for s in data["stances"] if s["poll_id"] in anonymous}
    said: dict[int, list] = {}
    for choice in data["stance_choices"]:
        if choice["stance_id"] in anonymous_stance_ids:
            said.setdefault(choice["stance_id"], []).append((choice["poll_option_id"], choice["score"]))
    anon_stances = sorted((s for s in data["stances"] if s["poll_id"] in anonymous and s["latest"]),
                          key=lambda s: (s["poll_id"], sorted(said.get(s["id"], [])), s["reason"] or ""))
    data["stances"] = [s for s in data["stances"] if s["poll_id"] not in anonymous]
    next_id = max([s["id"] for s in data["stances"]] + [0]) + 1
    renumbered = {}
    for stance in anon_stances:
        renumbered[stance["id"]] = next_id
        stance.update(id=next_id, participant_id=None, created_at=None, source="web")
        next_id += 1
    data["stances"].extend(anon_stances)
    kept = [c for c in data["stance_choices"] if c["stance_id"] not in anonymous_stance_ids]
    moved = sorted(({**c, "id": None, "stance_id": renumbered[c["stance_id"]]} for c in data["stance_choices"]
                    if c["stance_id"] in renumbered), key=lambda c: c["stance_id"])
    data["stance_choices"] = kept + moved
    for stance in data["stances"]:
        if stance["poll_id"] in hidden:
            stance["reason"] = None
            hidden_stances.add(stance["id"])
    data["stance_choices"] = [c for c in data["stance_choices"] if c["stance_id"] not in hidden_stances]
    _renumber_choices(data["stance_choices"])
    for row in data["participations"]:
        if row["poll_id"] in anonymous:
            row["id"] = None  # ids would give away the voting order
    kept_events = []
    for event in data["events"]:
        if event["poll_id"] in anonymous and event["kind"] == "stance_created":
            continue  # its time would line up with a member's other activity
        if event["poll_id"] in hidden and event["kind"] == "stance_created":
            event["data"] = {}  # the choice travels in the event too
        kept_events.append(event)
    data["events"] = kept_events
    for poll in data["polls"]:
        poll["results_exported"] = poll["id"] not in hidden


def _renumber_choices(choices: list[dict]) -> None:
    """Choice ids of anonymous stances were dropped (they follow voting order): give them new ones."""
    next_id = max([c["id"] for c in choices if c["id"] is not None] + [0]) + 1
    for choice in choices:
        if choice["id"] is None:
            choice["id"] = next_id
            next_id += 1


def _users(data: dict) -> list[dict]:
    """Everyone the exported rows mention, with only what another instance needs to match them."""
    users_table = _table("users")
    ids: set[int] = set()
    for name, rows in data.items():
        table = _table(name)
        columns = [c.name for c in table.columns if any(fk.column.table is users_table for fk in c.foreign_keys)]
        for row in rows:
            ids.update(row[c] for c in columns if row.get(c) is not None)
    if not ids:
        return []
    users = db.session.scalars(select(User).where(User.id.in_(sorted(ids))).order_by(User.id))
    return [{c: _value(getattr(u, c)) for c in USER_COLUMNS} for u in users]


# --- Files in the zip ---------------------------------------------------------------

def attachment_path(row: dict) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", row["filename"]).strip("._") or "file"
    return f"attachments/{row['id']}/{safe[:100]}"


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    writer = SafeWriter(out)  # every cell, whatever table it comes from
    writer.writerow(columns)
    for row in rows:
        writer.writerow([json.dumps(row.get(c)) if isinstance(row.get(c), (dict, list)) else
                         ("" if row.get(c) is None else row.get(c)) for c in columns])
    return out.getvalue()


def build_zip(group: Group, *, actor_id: int | None = None, progress: Progress | None = None,
              target=None) -> bytes | None:
    """The export as zip bytes; or, given a writable `target` (need not seek), written into it."""
    progress = progress or (lambda _p: None)
    export = collect(group, actor_id=actor_id, progress=progress)
    tables = export["tables"]
    for row in tables["attachments"]:
        row["path"] = attachment_path(row)
    buffer = target if target is not None else io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("quorum.json", json.dumps(export, ensure_ascii=False, indent=1, sort_keys=True))
        for name, rows in tables.items():
            archive.writestr(f"csv/{name}.csv", to_csv(rows))
        progress(55)
        total = max(1, len(tables["attachments"]))
        for index, row in enumerate(tables["attachments"], 1):
            try:
                content = storage.chunks("attachments", row["storage_key"])
            except FileNotFoundError:
                row["missing"] = True
                continue
            with archive.open(row["path"], "w") as member:  # a chunk at a time from the store
                for piece in content:
                    member.write(piece)
            progress(55 + int(30 * index / total))
        archive.writestr("archive.html", render_archive(export))
        with archive.open("threads.mbox", "w") as threads:  # message by message, never whole in memory
            for chunk in mbox.chunks(group):
                threads.write(chunk)
        archive.writestr("README.txt", render_template("stewardship/export_readme.txt", export=export))
    progress(95)
    return None if target is not None else buffer.getvalue()


class _QueueWriter:
    """A write-only file for zipfile: each write goes to a queue that the store's upload reads."""

    def __init__(self, pieces):
        self.pieces, self.size = pieces, 0

    def write(self, data) -> int:
        self.pieces.put(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def store_streaming(namespace: str, produce) -> tuple[str, int]:
    """Store what `produce(writer)` writes, encrypted, as it is written: the upload (to a folder or a
    bucket) runs beside the producer, so a large export is never whole in memory or on local disk.
    Returns (storage key, plaintext size)."""
    import queue
    import threading

    app = current_app._get_current_object()
    pieces: queue.Queue = queue.Queue(maxsize=16)
    outcome: dict = {}

    def upload() -> None:
        with app.app_context():
            try:
                outcome["key"] = storage.write_stream(namespace, iter(pieces.get, None), fsync=True)
            except BaseException as error:  # noqa: BLE001 - handed back to the producer's thread
                outcome["error"] = error
                while pieces.get() is not None:  # let the producer finish; its bytes go nowhere
                    pass

    uploader = threading.Thread(target=upload, name="quorum-export-upload", daemon=True)
    uploader.start()
    writer = _QueueWriter(pieces)
    try:
        produce(writer)
    finally:
        pieces.put(None)
        uploader.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["key"], writer.size


# --- The offline HTML archive ------------------------------------------------------------

def render_archive(export: dict) -> str:
    """One self-contained page: inline CSS, no scripts, no remote URLs (opens from disk)."""
    from ..rendering import markdown_to_html

    t = export["tables"]
    users = {u["id"]: u for u in t["users"]}

    def name(user_id):
        user = users.get(user_id) or {}
        return display_name(user.get("name"), user.get("email"), user.get("deleted_at"))

    def md(text):
        # No remote URLs at all: links become their text followed by the address, as plain text.
        html = re.sub(r"<img\b[^>]*>", "", markdown_to_html(text or ""))
        return re.sub(r'<a\b[^>]*href="([^"]*)"[^>]*>(.*?)</a>', r"\2 [\1]", html, flags=re.S)

    attachments_by = {}
    for a in t["attachments"]:
        for key in ("comment_id", "discussion_id", "poll_id"):
            if a.get(key):
                attachments_by.setdefault((key, a[key]), []).append(a)
                break
    reactions_by = {}
    for r in t["reactions"]:
        target = ("comment", r["comment_id"]) if r["comment_id"] else ("discussion", r["discussion_id"])
        counts = reactions_by.setdefault(target, {})
        counts[r["emoji"]] = counts.get(r["emoji"], 0) + 1
    versions_by = {}
    for v in t["versions"]:
        versions_by.setdefault((v["item_type"], v["item_id"]), []).append(v)
    options_by, choices_by, outcomes_by = {}, {}, {}
    for o in t["poll_options"]:
        options_by.setdefault(o["poll_id"], []).append(o)
    for c in t["stance_choices"]:
        choices_by.setdefault(c["stance_id"], []).append(c)
    for o in t["outcomes"]:
        outcomes_by.setdefault(o["poll_id"], []).append(o)
    polls = []
    for p in t["polls"]:
        if p["deleted_at"]:
            continue
        options = sorted(options_by.get(p["id"], []), key=lambda o: (o["priority"], o["id"]))
        option_names = {o["id"]: o["name"] for o in options}
        totals = {o["id"]: 0 for o in options}
        stances = []
        for s in t["stances"]:
            if s["poll_id"] != p["id"] or not s["latest"]:
                continue
            choices = choices_by.get(s["id"], [])
            for c in choices:
                totals[c["poll_option_id"]] = totals.get(c["poll_option_id"], 0) + c["score"]
            stances.append({
                "who": _("anonymous") if p["anonymous"] else name(s["participant_id"]),
                "choices": ", ".join(
                    option_label(option_names.get(c["poll_option_id"], "?"))
                    + ("" if c["score"] == 1 else f" ({c['score']})")
                    for c in choices),
                "reason": s["reason"],
            })
        polls.append({**p, "options": options, "totals": totals, "stances": stances,
                      "outcomes": [o for o in outcomes_by.get(p["id"], []) if o["latest"]],
                      "attachments": attachments_by.get(("poll_id", p["id"]), [])})
    comments_by = {}
    for c in t["comments"]:
        comments_by.setdefault(c["discussion_id"], []).append(c)
    threads = []
    for d in sorted(t["discussions"], key=lambda d: d["created_at"] or ""):
        if d["deleted_at"]:
            continue
        comments = [c for c in comments_by.get(d["id"], []) if not c["deleted_at"]]
        tops = [c for c in comments if not c["parent_id"]]
        replies = {}
        for c in comments:
            if c["parent_id"]:
                replies.setdefault(c["parent_id"], []).append(c)
        threads.append({**d, "top": tops, "replies": replies, "comment_count": len(comments),
                        "polls": [p for p in polls if p["discussion_id"] == d["id"]]})
    group = t["groups"][0]
    members = sorted(({"name": name(m["user_id"]), "role": m["role"]} for m in t["memberships"]),
                     key=lambda m: (m["role"] != "admin", m["name"].lower()))
    return render_template(
        "stewardship/archive.html", export=export, group=group, members=members, threads=threads,
        standalone_polls=[p for p in polls if not p["discussion_id"]], name=name, md=md,
        attachments_by=attachments_by, reactions_by=reactions_by, versions_by=versions_by,
    )


# --- Export requests (the page and the job) ------------------------------------------------------

def request_export(*, actor, group_id: int) -> GroupExport:
    from .. import policy

    group = db.session.get(Group, group_id)
    if group is None:
        raise NotFound(_("There is no such group."))
    if not policy.can_export(actor, group):
        raise NotAllowed(_("Only the group's admins can export it."))
    row = GroupExport(group_id=group.id, requested_by_id=actor.id, status="queued", progress=0)
    db.session.add(row)
    db.session.commit()  # the commit enqueues the build (or, with Redis down, the sweeper does)
    return row


def run_export(export_id: int) -> str:
    """The job body: build the zip, store it encrypted, email a 7-day download link."""
    from ..email import messages

    row = db.session.get(GroupExport, export_id)
    if row is None or row.status == "done":
        return "nothing to do"
    group = db.session.get(Group, row.group_id)
    row.status, row.progress, row.error = "running", 1, None
    db.session.commit()

    def progress(percent: int) -> None:
        row.progress = max(row.progress, min(99, percent))
        db.session.commit()

    # The archive and its README are written in the language of the admin who asked.
    language = locale_for(db.session.get(User, row.requested_by_id) if row.requested_by_id else None, group)
    try:
        with in_locale(language):
            key, size = store_streaming("exports", lambda target: build_zip(
                group, actor_id=row.requested_by_id, progress=progress, target=target))
    except Exception as error:
        db.session.rollback()
        row = db.session.get(GroupExport, export_id)
        row.status, row.error = "failed", f"The export could not be built: {error}"[:2000]
        db.session.commit()
        raise
    token = random_token(32)
    row.storage_key, row.token_hash = key, hash_token("export:" + token)
    row.status, row.progress, row.finished_at = "done", 100, utcnow()
    row.expires_at = row.finished_at + DOWNLOAD_LIFETIME
    audit.record(row.requested_by_id, group.id, "group_exported", export_id=row.id, bytes=size)
    requester = db.session.get(User, row.requested_by_id) if row.requested_by_id else None
    if requester is not None and requester.email:
        link = f"{current_app.config['BASE_URL']}/exports/{token}"
        messages.export_ready(export_id=row.id, requester=requester, group=group, link=link,
                              expires_at=row.expires_at, size=size)
    db.session.commit()
    return "done"


def export_of(group_id: int, export_id: int) -> GroupExport:
    row = db.session.get(GroupExport, export_id)
    if row is None or row.group_id != group_id:
        raise NotFound(_("There is no such export."))
    return row


def group_of(row: GroupExport) -> Group | None:
    return db.session.get(Group, row.group_id)


def recent_exports(group_id: int, limit: int = 10) -> list[GroupExport]:
    return list(db.session.scalars(select(GroupExport).where(GroupExport.group_id == group_id)
                                   .order_by(GroupExport.id.desc()).limit(limit)))


def export_by_token(token: str) -> GroupExport | None:
    return db.session.scalar(select(GroupExport).where(GroupExport.token_hash == hash_token("export:" + (token or ""))))


def purge_expired() -> int:
    """Delete the files of exports whose 7 days are over (the row stays, as a record)."""
    rows = db.session.scalars(select(GroupExport).where(
        GroupExport.expires_at < utcnow(), GroupExport.storage_key.is_not(None)))
    count = 0
    for row in rows:
        storage.delete("exports", row.storage_key)
        row.storage_key = None
        count += 1
    db.session.commit()
    return count
