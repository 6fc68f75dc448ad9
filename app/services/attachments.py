"""Attachments on threads and comments: checked, encrypted at rest, served only to readers."""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Iterator

from flask import current_app

from .. import policy, storage
from ..extensions import db
from ..text import one_line
from ..models import Attachment, Comment, Discussion
from .errors import Invalid, NotFound
from ..i18n import _, _n

log = logging.getLogger(__name__)

NAMESPACE = "attachments"
MAX_FILES = 10
# Extension → the type we serve it as (never the type the uploader claimed).
ALLOWED_TYPES = {
    "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
    "gif": "image/gif", "webp": "image/webp", "txt": "text/plain", "csv": "text/csv", "md": "text/markdown",
    "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "ics": "text/calendar",
}
# Files must start as their extension says, so an "image" is never an HTML page in disguise.
MAGIC = {
    "pdf": (b"%PDF-",), "png": (b"\x89PNG\r\n\x1a\n",), "jpg": (b"\xff\xd8\xff",), "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"), "webp": (b"RIFF",), "odt": (b"PK\x03\x04",), "ods": (b"PK\x03\x04",),
    "odp": (b"PK\x03\x04",), "docx": (b"PK\x03\x04",), "xlsx": (b"PK\x03\x04",), "pptx": (b"PK\x03\x04",),
}
# Shown in the browser; everything else downloads.
INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def allowed_extensions() -> str:
    return ", ".join(sorted(ALLOWED_TYPES))


def safe_filename(name: str) -> str:
    name = one_line((name or "").replace("\\", "/").rsplit("/", 1)[-1])  # bidi overrides go too
    name = re.sub(r"[\x00-\x1f\x7f\"<>:|?*;]", "", name).strip(" .")
    return name[-120:] or "file"


def check(files: list[tuple[str, bytes]]) -> list[Upload]:
    """Validate every file before anything is stored; Invalid names the first problem."""
    files = [(name, data) for name, data in files or [] if name or data]
    if len(files) > MAX_FILES:
        raise Invalid(_n("Attach at most %(num)s file at a time.", "Attach at most %(num)s files at a time.", MAX_FILES),
                      field="files")
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    uploads = []
    for raw_name, data in files:
        filename = safe_filename(raw_name)
        ext = filename.rpartition(".")[2].lower() if "." in filename else ""
        if ext not in ALLOWED_TYPES:
            raise Invalid(_("%(name)s is not a file type we accept. Allowed: %(allowed)s.", name=repr(filename),
                            allowed=allowed_extensions()), field="files")
        if not data:
            raise Invalid(_("%(name)s is empty.", name=repr(filename)), field="files")
        if len(data) > limit:
            raise Invalid(_("%(name)s is too large: the limit is %(mb)s MB per file.", name=repr(filename),
                            mb=limit // (1024 * 1024)), field="files")
        if ext in MAGIC and not data.startswith(MAGIC[ext]):
            raise Invalid(_("%(name)s does not look like a .%(ext)s file.", name=repr(filename), ext=ext), field="files")
        if ext == "webp" and data[8:12] != b"WEBP":
            raise Invalid(_("%(name)s does not look like a .%(ext)s file.", name=repr(filename), ext="webp"),
                          field="files")
        uploads.append(Upload(filename, ALLOWED_TYPES[ext], data))
    return uploads


def store(uploads: list[Upload], *, uploader_id: int, discussion_id: int, comment_id: int | None = None) -> list[Attachment]:
    """Encrypt and write the files, and add their rows to the current transaction. With the disk
    full, the files written so far are removed and Invalid says so (the form keeps what was typed)."""
    rows = []
    for upload in uploads:
        try:
            key = storage.write(NAMESPACE, upload.data)
        except storage.NoSpace as error:
            discard(rows)
            log.error("an upload was refused: %s", error)
            raise Invalid(_("We could not store your files: the server has run out of disk space. Nothing was "
                            "posted; please try again later."), field="files")
        except storage.StorageError as error:
            discard(rows)
            log.error("an upload was refused: %s", error)
            raise Invalid(_("We could not store your files: the file store is not answering. Nothing was "
                            "posted; please try again later."), field="files")
        row = Attachment(uploader_id=uploader_id, discussion_id=discussion_id, comment_id=comment_id,
                         filename=upload.filename, content_type=upload.content_type, size=len(upload.data),
                         sha256=hashlib.sha256(upload.data).hexdigest(), storage_key=key)
        db.session.add(row)
        rows.append(row)
    return rows


def discard(rows: list[Attachment]) -> None:
    """Remove stored files whose transaction failed."""
    for row in rows:
        storage.delete(NAMESPACE, row.storage_key)


def for_download(user, attachment_id: int, filename: str) -> tuple[Attachment, Iterator[bytes]]:
    """The file, if this person may read the thread it belongs to (else NotFound, same as missing):
    its row, and its bytes as checked chunks read from the store as they are sent (never whole)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.discussion_id is None or attachment.filename != filename:
        raise NotFound(_("There is no such file."))
    discussion = db.session.get(Discussion, attachment.discussion_id)
    if discussion is None or not policy.can_view_discussion(user, discussion):
        raise NotFound(_("There is no such file."))
    if attachment.comment_id is not None:
        comment = db.session.get(Comment, attachment.comment_id)
        if comment is None or comment.deleted_at is not None:
            raise NotFound(_("There is no such file."))
    try:
        return attachment, storage.chunks(NAMESPACE, attachment.storage_key)
    except FileNotFoundError:
        raise NotFound(_("This file is missing from storage.")) from None
