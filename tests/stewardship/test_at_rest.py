"""Encryption at rest: attachments, raw mail and exports are never on disk in plaintext;
`quorum keys rotate` re-encrypts everything under a new key and retires the old one."""
from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from app import storage
from app.extensions import db
from app.models import GroupExport, InboundMessage, User
from app.stewardship.export import run_export
from tests.factories import UserFactory

from .conftest import add_attachment

MARKER = b"PLAINTEXT-MARKER-7f3a9c"


def write_marker_everywhere(rich_group) -> dict:
    attachment = add_attachment(uploader=rich_group["bea"], content=MARKER * 3, filename="secret.txt",
                                discussion_id=rich_group["thread"].id)
    raw = b"From: bea@example.org\r\nSubject: hi\r\n\r\n" + MARKER + b"\r\n"
    key = storage.write("inbound", raw, fsync=True)
    db.session.add(InboundMessage(raw_sha256=hashlib.sha256(raw).hexdigest(), storage_key=key, size=len(raw)))
    export = GroupExport(group_id=rich_group["group"].id, requested_by_id=rich_group["admin"].id)
    db.session.add(export)
    db.session.commit()
    run_export(export.id)
    return {"attachment": attachment, "inbound_key": key, "export": db.session.get(GroupExport, export.id)}


def plaintext_hits(instance: Path) -> list[str]:
    hits = []
    for path in instance.rglob("*"):
        if not path.is_file() or path.suffix in (".db", ".db-wal", ".db-shm", ".rdb", ".sock") or "redis" in path.parts:
            continue
        if MARKER in path.read_bytes():
            hits.append(str(path.relative_to(instance)))
    return hits


def test_no_plaintext_under_the_instance_folder(rich_group, clean_app):
    written = write_marker_everywhere(rich_group)
    instance = Path(clean_app.config["QUORUM_INSTANCE"])
    assert (instance / "files" / "attachments" / written["attachment"].storage_key).exists()
    assert (instance / "files" / "inbound" / written["inbound_key"]).exists()
    assert (instance / "files" / "exports" / written["export"].storage_key).exists()
    assert plaintext_hits(instance) == []
    # The database holds only names and hashes of files, never their contents.
    if db.engine.dialect.name == "sqlite":
        assert MARKER not in Path(db.engine.url.database).read_bytes()
    # ...and the files do decrypt with the key.
    assert storage.read("attachments", written["attachment"].storage_key) == MARKER * 3


def test_the_data_key_file_is_readable_only_by_its_owner(clean_app):
    storage.data_keys()
    key_file = Path(clean_app.config["QUORUM_INSTANCE"]) / "data.key"
    if not clean_app.config.get("DATA_KEY"):
        assert key_file.stat().st_mode & 0o077 == 0


def test_keys_rotate_reencrypts_every_file_and_retires_the_old_key(rich_group, clean_app, runner, monkeypatch):
    from app.stewardship import totp

    written = write_marker_everywhere(rich_group)
    user = rich_group["bea"]
    user.totp_secret = totp.seal_secret(user.id, "JBSWY3DPEHPK3PXP")
    db.session.commit()
    from app.services import webhooks

    monkeypatch.setitem(clean_app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    hook = webhooks.add_webhook(actor_id=rich_group["admin"].id, group_id=rich_group["group"].id,
                                url="http://127.0.0.1:9/services/SECRETPATH", format="json", events=["comment_posted"])
    secret = webhooks.signing_secret(hook)
    old_key = storage.data_keys()[0]
    instance = Path(clean_app.config["QUORUM_INSTANCE"])

    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output

    keys = storage.data_keys()
    assert keys[0] != old_key and old_key not in keys
    lines = (instance / "data.key").read_text().split()
    assert [base64.b64decode(k) for k in lines] == keys
    new_id = storage.key_id(keys[0])
    for path in (instance / "files").glob("*/*"):
        if not path.name.startswith("."):
            assert path.read_bytes()[5:13] == new_id, path
    assert storage.read("attachments", written["attachment"].storage_key) == MARKER * 3
    assert MARKER in storage.read("inbound", written["inbound_key"])
    db.session.expire_all()
    assert totp.open_secret(db.session.get(User, user.id)) == "JBSWY3DPEHPK3PXP"
    from app.models import Webhook

    hook = db.session.get(Webhook, hook.id)  # webhook address and secret: sealed again, under the new key
    assert webhooks.target(hook).endswith("SECRETPATH") and webhooks.signing_secret(hook) == secret
    assert base64.b64decode(hook.sealed_url)[5:13] == new_id == base64.b64decode(hook.secret)[5:13]
    assert plaintext_hits(instance) == []
    from app.models import AuditLog
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "keys_rotated")) is not None
