"""A group's threads as one mbox file: a message per thread start and per comment, threaded by
Message-ID / In-Reply-To / References so any mail client (or Mailman, or a list archiver) shows the
discussions as they were. Made message by message, so a large group never sits whole in memory:
the admin's download streams it, and the group export writes it into its zip the same way.

Deleted threads and comments are left out; votes are not mail and are not in it (the export's
JSON and archive hold decisions, with their anonymity rules).
"""
from __future__ import annotations

from email import policy as email_policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from io import BytesIO
from typing import Iterator

from flask import current_app
from sqlalchemy import select

from ..email import headers
from ..extensions import db
from ..i18n import _
from ..models import Attachment, Comment, Discussion, Group, User
from ..models.users import name_of
from ..services import audit
from ..services.errors import NotAllowed

BATCH = 500  # rows fetched at a time
_POLICY = email_policy.default.clone(linesep="\n", max_line_length=78)


def download(*, actor, group: Group) -> None:
    """May this person download the group's mbox? Records it in the audit log (the caller streams)."""
    from .. import policy

    if not policy.can_export(actor, group):
        raise NotAllowed(_("Only the group's admins can download its threads."))
    audit.record(actor.id, group.id, "group_mbox_downloaded")
    db.session.commit()


def filename(group: Group) -> str:
    return f"{group.handle}-threads.mbox"


def chunks(group: Group) -> Iterator[bytes]:
    """The mbox file, one message at a time (oldest thread first, each followed by its comments)."""
    base = current_app.config["BASE_URL"].rstrip("/")
    names: dict[int | None, str] = {}

    def author(user_id: int | None) -> str:
        if user_id not in names:
            names[user_id] = name_of(db.session.get(User, user_id) if user_id is not None else None)
        return names[user_id]

    threads = list(db.session.execute(
        select(Discussion.id, Discussion.title, Discussion.body, Discussion.author_id, Discussion.created_at)
        .where(Discussion.group_id == group.id, Discussion.deleted_at.is_(None))
        .order_by(Discussion.created_at, Discussion.id)))  # small rows: ids and one body each
    for thread in threads:
        files = _files(thread.id)
        yield _message(headers.archived(group=group, author_name=author(thread.author_id), title=thread.title,
                                        sent_at=thread.created_at, discussion_id=thread.id),
                       _body(thread.body, files.get(None, []), f"{base}/d/{thread.id}"), thread.created_at)
        comments = db.session.execute(
            select(Comment.id, Comment.parent_id, Comment.body, Comment.author_id, Comment.created_at)
            .where(Comment.discussion_id == thread.id, Comment.deleted_at.is_(None))
            .order_by(Comment.created_at, Comment.id).execution_options(yield_per=BATCH))
        for c in comments:
            yield _message(headers.archived(group=group, author_name=author(c.author_id), title=thread.title,
                                            sent_at=c.created_at, discussion_id=thread.id, comment_id=c.id,
                                            parent_id=c.parent_id),
                           _body(c.body, files.get(c.id, []), f"{base}/d/{thread.id}#c{c.id}"), c.created_at)


def _files(discussion_id: int) -> dict[int | None, list[str]]:
    """Attachment names by comment (None: the thread's own), named in the text; the files are in the export."""
    found: dict[int | None, list[str]] = {}
    for comment_id, name in db.session.execute(
            select(Attachment.comment_id, Attachment.filename).where(Attachment.discussion_id == discussion_id)
            .order_by(Attachment.id)):
        found.setdefault(comment_id, []).append(name)
    return found


def _body(text: str, files: list[str], link: str) -> str:
    parts = [(text or "").strip()]
    if files:
        parts.append(_("Attachments: %(files)s", files=", ".join(files)))
    parts.append(f"-- \n{link}")
    return "\n\n".join(p for p in parts if p) + "\n"


def _message(header_list: list[tuple[str, str]], body: str, sent_at) -> bytes:
    """One mbox entry: the From_ line, the message, a blank line."""
    message = EmailMessage(policy=_POLICY)
    for name, value in header_list:
        message[name] = value
    # Base64 when a line starts with "From ": an mbox reader would take it for the next message
    # (and ">From" quoting is not undone by every reader); quoted-printable otherwise.
    from_line = body.startswith("From ") or "\nFrom " in body
    message.set_content(body, charset="utf-8", cte="base64" if from_line else "quoted-printable")
    out = BytesIO()
    out.write(f"From MAILER-DAEMON {sent_at:%a %b %d %H:%M:%S %Y}\n".encode())
    BytesGenerator(out, mangle_from_=True, policy=_POLICY).flatten(message)
    out.write(b"\n")
    return out.getvalue()
