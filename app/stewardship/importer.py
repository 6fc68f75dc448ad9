"""Import a group export into this instance: members matched by email (or created unverified),
every row recreated with new ids, attachments re-encrypted under this instance's key.

All or nothing: one transaction; files written for a failed import are removed again.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime

from sqlalchemy import func, insert, select

from .. import storage
from ..extensions import db
from ..i18n import _
from ..models import Group, User, UTCDateTime, utcnow
from ..services.errors import Invalid
from ..tokens import hash_token, random_token
from ..services import audit
from .schema import FORMAT, NOT_IMPORTED, TABLES, VERSION

# versions.item_id points at a different table depending on item_type.
_VERSION_TARGETS = {"discussion": "discussions", "comment": "comments", "poll": "polls"}


def read_export(data: bytes) -> tuple[dict, zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        export = json.loads(archive.read("quorum.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise Invalid(_("That file is not a Quorum group export (a .zip with quorum.json inside)."), field="file") from None
    if export.get("format") != FORMAT:
        raise Invalid(_("That file is not a Quorum group export."), field="file")
    if not isinstance(export.get("version"), int) or export["version"] > VERSION:
        raise Invalid(_("This export uses format version %(version)s; this Quorum reads up to version %(supported)s. "
                        "Upgrade Quorum first.", version=export.get("version"), supported=VERSION), field="file")
    return export, archive


def import_zip(data: bytes, *, actor_id: int | None = None, handle: str | None = None) -> Group:
    from ..services.groups import validate_handle

    export, archive = read_export(data)
    tables = export["tables"]
    source_group = tables["groups"][0]
    new_handle = validate_handle(handle or source_group["handle"])
    written: list[str] = []
    try:
        group = _import(tables, archive, new_handle, written)
        audit.record(actor_id, group.id, "group_imported", source=export.get("source", ""),
                     exported_at=export.get("exported_at"), source_handle=source_group["handle"])
        db.session.commit()
    except Exception:
        db.session.rollback()
        for key in written:
            storage.delete("attachments", key)
        raise
    return group


def _import(tables: dict, archive: zipfile.ZipFile, handle: str, written: list[str]) -> Group:
    ids: dict[str, dict[int, int]] = {name: {} for name in TABLES}
    ids["users"] = _match_users(tables.get("users", []))
    for name in TABLES:
        if name == "users" or name in NOT_IMPORTED:
            continue
        table = db.metadata.tables[name]
        for row in tables.get(name, []):
            values = _values(name, table, row, ids)
            if name == "groups":
                values.update(handle=handle, join_token=None, parent_id=None)
            elif name == "attachments":
                values["storage_key"] = _store_attachment(archive, row, written)
            elif name == "invitations":
                # The old link belonged to the old host; a re-sent invitation gets a new one.
                values["token_hash"] = hash_token("imported-invitation:" + random_token(24))
            elif name == "events":
                values["fanned_out_at"] = utcnow()  # history: nobody is notified again
            new_id = db.session.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()
            if row.get("id") is not None:
                ids[name][row["id"]] = new_id
    group = db.session.get(Group, next(iter(ids["groups"].values())))
    return group


def _values(name: str, table, row: dict, ids: dict) -> dict:
    values = {}
    for column in table.columns:
        if column.primary_key or column.name not in row:
            continue
        value = row[column.name]
        if value is not None and isinstance(column.type, UTCDateTime):
            value = datetime.fromisoformat(value)
        target = next((fk.column.table.name for fk in column.foreign_keys), None)
        if name == "versions" and column.name == "item_id":
            target = _VERSION_TARGETS.get(row.get("item_type"))
        if target is not None and value is not None:
            value = ids.get(target, {}).get(value)  # references outside the export become empty
            if value is None and not column.nullable:
                where = f"{name}.{column.name}"
                raise Invalid(_("The export is inconsistent: %(column)s refers to a missing %(table)s row.",
                                column=where, table=target))
        values[column.name] = value
    return values


def _match_users(rows: list[dict]) -> dict[int, int]:
    """Members are matched by email; unknown addresses become unverified accounts (they sign in
    with an emailed link, which verifies them); deleted members stay deleted."""
    from ..services.accounts import user_by_email

    mapping = {}
    for row in rows:
        email = (row.get("email") or "").strip().lower()
        user = None
        if email:
            user = user_by_email(email) or db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            user = User(email=email or None, name=(row.get("name") or "")[:100] if email else "",
                        time_zone=row.get("time_zone") or "UTC", locale=row.get("locale") or "")
            if not email:
                user.deleted_at = datetime.fromisoformat(row["deleted_at"]) if row.get("deleted_at") else utcnow()
            db.session.add(user)
            db.session.flush()
        mapping[row["id"]] = user.id
    return mapping


def _store_attachment(archive: zipfile.ZipFile, row: dict, written: list[str]) -> str:
    try:
        content = archive.read(row["path"])
    except KeyError:
        raise Invalid(_("The export lists the attachment %(name)s but the file is missing.",
                        name=repr(row.get("filename")))) from None
    if hashlib.sha256(content).hexdigest() != row["sha256"]:
        raise Invalid(_("The attachment %(name)s is damaged (its checksum does not match).", name=repr(row.get("filename"))))
    key = storage.write("attachments", content)
    written.append(key)
    return key
