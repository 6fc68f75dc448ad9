"""Backups: encrypted, in two places, verified by restoring into scratch, restorable, with retention."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyrage
import pytest

from app.extensions import db
from app.models import Attachment, User
from app.stewardship import backup
from tests.factories import UserFactory

from .conftest import ATTACHMENT_BYTES


@pytest.fixture
def backup_setup(clean_app, tmp_path, rich_group):
    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "backup.key"
    key_file.write_text(f"# test identity\n{identity}\n")
    first, second = tmp_path / "disk-a", tmp_path / "mounted-remote"
    config = clean_app.config
    saved = {k: config.get(k) for k in ("BACKUP_DESTINATIONS", "BACKUP_RECIPIENT", "BACKUP_AGE_IDENTITY_FILE")}
    config.update(BACKUP_DESTINATIONS=f"{first},{second}", BACKUP_RECIPIENT=str(identity.to_public()),
                  BACKUP_AGE_IDENTITY_FILE=str(key_file))
    yield {"dirs": [first, second], "identity": key_file, **rich_group}
    config.update(saved)


def test_backup_verify_restore_with_two_destinations(backup_setup, runner):
    result = runner.invoke(args=["backup", "create"])
    assert result.exit_code == 0, result.output
    for folder in backup_setup["dirs"]:
        files = list(folder.glob("quorum-backup-*.tar.gz.age"))
        assert len(files) == 1
        assert ATTACHMENT_BYTES not in files[0].read_bytes() and b"Allotment Society" not in files[0].read_bytes()

    result = runner.invoke(args=["backup", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.count("match the manifest") == 2

    # Things go wrong after the backup: an account appears, a file disappears.
    UserFactory(email="intruder@example.org")
    attachment = db.session.scalar(db.select(Attachment).where(Attachment.filename == "minutes 2026.pdf"))
    from app import storage
    storage.delete("attachments", attachment.storage_key)

    result = runner.invoke(args=["backup", "restore", "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert db.session.scalar(db.select(User).where(User.email == "intruder@example.org")) is None
    attachment = db.session.scalar(db.select(Attachment).where(Attachment.filename == "minutes 2026.pdf"))
    assert storage.read("attachments", attachment.storage_key) == ATTACHMENT_BYTES


def test_a_corrupted_backup_is_detected_and_the_site_admins_are_told(backup_setup, runner, outbox):
    assert runner.invoke(args=["backup", "create"]).exit_code == 0
    damaged = next(backup_setup["dirs"][1].glob("quorum-backup-*"))
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))

    result = runner.invoke(args=["backup", "verify"])
    assert result.exit_code != 0
    assert "cannot be decrypted" in result.output or "damaged" in result.output
    alert = outbox.last_to("opal@example.org")  # the site admin of the test group fixture
    assert "verify FAILED" in alert.subject and damaged.name in alert.text


def test_a_backup_whose_manifest_disagrees_with_its_database_fails_verify(backup_setup, tmp_path):
    import json
    import tarfile

    backup.create()
    sealed = next(backup_setup["dirs"][0].glob("quorum-backup-*"))
    work = tmp_path / "unpacked"
    work.mkdir()
    root = backup.unpack(sealed, work, str(backup_setup["identity"]))
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["tables"]["comments"]["rows"] += 1
    (root / "manifest.json").write_text(json.dumps(manifest))
    forged = tmp_path / "forged.tar.gz"
    with tarfile.open(forged, "w:gz") as archive:
        archive.add(root, arcname="quorum-backup")
    recipient = pyrage.x25519.Recipient.from_str(backup.recipient())
    out = tmp_path / "quorum-backup-20300101T000000Z.tar.gz.age"
    pyrage.encrypt_file(str(forged), str(out), [recipient])
    with pytest.raises(backup.BackupError, match="comments"):
        backup.verify_file(out, str(backup_setup["identity"]))


def test_the_daily_job_makes_one_backup_a_day(backup_setup):
    assert backup.backup_if_due().startswith("written")
    assert backup.backup_if_due() == "already done today"
    assert all(len(list(d.glob("quorum-backup-*"))) == 1 for d in backup_setup["dirs"])


def test_a_failing_backup_alerts_the_site_admins(backup_setup, outbox, clean_app, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    clean_app.config["BACKUP_DESTINATIONS"] = f"{backup_setup['dirs'][0]},{blocker}"
    with pytest.raises(backup.BackupError, match="every destination"):
        backup.backup_if_due()
    assert "backup FAILED" in outbox.last_to("opal@example.org").subject


def test_retention_keeps_7_daily_4_weekly_6_monthly():
    start = datetime(2026, 1, 1, 3, 0, tzinfo=timezone.utc)
    names = [f"quorum-backup-{(start + timedelta(days=i)):%Y%m%dT%H%M%SZ}.tar.gz.age" for i in range(400)]
    keep = backup.keep_set(names)
    newest = max(names)
    assert newest in keep
    kept_dates = sorted(backup.taken_at(n).date() for n in keep)
    last = backup.taken_at(newest).date()
    assert [last - timedelta(days=i) for i in range(7)] == sorted(kept_dates, reverse=True)[:7]
    assert len({(d.year, d.month) for d in kept_dates}) == 6
    assert len(keep) <= 7 + 4 + 6
    assert kept_dates[0] >= last - timedelta(days=31 * 6)


def test_keygen_writes_an_identity_and_prints_the_recipient(runner, tmp_path):
    out = tmp_path / "id.txt"
    result = runner.invoke(args=["backup", "keygen", "--out", str(out)])
    assert result.exit_code == 0 and "BACKUP_AGE_RECIPIENT=age1" in result.output
    assert "AGE-SECRET-KEY-" in out.read_text() and (out.stat().st_mode & 0o077) == 0
