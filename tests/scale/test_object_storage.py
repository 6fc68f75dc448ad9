"""Files in an S3 bucket (moto's real S3 API on loopback): STORAGE_URL=s3://… keeps attachments,
stored mail and exports in the bucket, encrypted, and nothing under the instance folder; mail is
in the bucket before the 250; `quorum storage migrate` moves a folder's files into a bucket."""
from __future__ import annotations

import smtplib
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import select

from app import storage
from app.extensions import db
from app.models import Attachment, GroupExport, InboundMessage
from mail.server import start_server
from tests.helpers import post, sign_in
from tests.inbound.conftest import Scene, comments_of, reply

from .support import S3_CREDENTIALS, MotoS3

MARKER = b"OBJECT-STORE-PLAINTEXT-MARKER-51c2"
PDF = b"%PDF-1.4\n" + MARKER + b"\n" + bytes(range(256)) * 800  # ~200 KB: several encrypted chunks


@pytest.fixture(scope="module")
def moto():
    with MotoS3() as server:
        yield server


@pytest.fixture
def on_s3(clean_app, moto, request, monkeypatch):
    """This site's STORAGE_URL is a bucket (as an operator would set it, with S3_ENDPOINT_URL)."""
    bucket = moto.bucket(f"quorum-{request.node.name.replace('_', '-')[:40].strip('-')}")
    for name, value in {**S3_CREDENTIALS, "STORAGE_URL": f"s3://{bucket}/site", "S3_ENDPOINT_URL": moto.endpoint}.items():
        monkeypatch.setitem(clean_app.config, name, value)
    yield {"bucket": bucket, "moto": moto}
    clean_app.extensions.pop("quorum_store", None)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_a_stack_on_s3_keeps_every_file_in_the_bucket_and_none_under_the_instance_folder(on_s3, clean_app, dns):
    scene = Scene()
    instance = Path(clean_app.config["QUORUM_INSTANCE"])
    # A member attaches a file in the browser and reads it back.
    client = clean_app.test_client()
    sign_in(client, scene.alice)
    posted = post(client, f"/d/{scene.thread.id}/comments", {"body": "The plan", "files": (BytesIO(PDF), "plan.pdf")},
                  content_type="multipart/form-data")
    assert posted.status_code == 303
    attachment = db.session.scalars(select(Attachment)).one()
    served = client.get(f"/attachments/{attachment.id}/plan.pdf")
    assert served.status_code == 200 and served.is_streamed and served.data == PDF
    stranger = clean_app.test_client()
    assert stranger.get(f"/attachments/{attachment.id}/plan.pdf").status_code == 404  # still policy-checked
    # Mail to the thread, through the real SMTP server: stored in the bucket, then processed.
    server = start_server(clean_app)
    try:
        to = scene.reply_address()
        with smtplib.SMTP(server.hostname, server.port, timeout=20) as smtp:
            assert smtp.sendmail("alice@example.org", [to], reply(to=to, body="Mail through the bucket.\n")) == {}
    finally:
        server.stop()
    assert comments_of(scene.thread)[-1].body == "Mail through the bucket."
    inbound = db.session.scalars(select(InboundMessage)).one()
    # An export: built and stored as it is made, downloadable by the admin.
    from app.stewardship.export import run_export

    export = GroupExport(group_id=scene.group.id, requested_by_id=scene.bob.id)
    db.session.add(export)
    db.session.commit()  # the commit runs the export job (synchronously in tests)
    run_export(export.id)
    db.session.expire_all()
    export = db.session.get(GroupExport, export.id)
    assert export.status == "done", export.error

    keys = on_s3["moto"].keys(on_s3["bucket"])
    assert f"site/attachments/{attachment.storage_key}" in keys
    assert f"site/inbound/{inbound.storage_key}" in keys
    assert f"site/exports/{export.storage_key}" in keys
    client_s3 = on_s3["moto"].client()
    for key in keys:  # encrypted before it left the process
        body = client_s3.get_object(Bucket=on_s3["bucket"], Key=key)["Body"].read()
        assert body.startswith(storage.STREAM_MAGIC) and MARKER not in body and b"Mail through the bucket" not in body
    assert files_under(instance / "files") == []
    assert storage.read("exports", export.storage_key).startswith(b"PK")


def test_mail_is_refused_with_451_when_the_bucket_cannot_confirm_it(on_s3, clean_app, dns, monkeypatch):
    from .support import free_port

    scene = Scene()
    monkeypatch.setitem(clean_app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    server = start_server(clean_app)
    try:
        to = scene.reply_address()
        with smtplib.SMTP(server.hostname, server.port, timeout=60) as smtp:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                smtp.sendmail("alice@example.org", [to], reply(to=to))
    finally:
        server.stop()
    assert refused.value.smtp_code == 451  # the sender keeps it and tries again: nothing is lost
    assert db.session.scalars(select(InboundMessage)).all() == []


def test_storage_migrate_moves_a_folders_files_into_a_bucket_and_checks_each(clean_app, moto, runner, monkeypatch):
    keys = {name: storage.write(name, MARKER + name.encode(), fsync=True) for name in storage.NAMESPACES}
    bucket = moto.bucket("quorum-migrate")
    for name, value in {**S3_CREDENTIALS, "S3_ENDPOINT_URL": moto.endpoint}.items():
        monkeypatch.setitem(clean_app.config, name, value)
    result = runner.invoke(args=["storage", "migrate", "--to", f"s3://{bucket}/moved"])
    assert result.exit_code == 0, result.output
    assert "Copied 3 files" in result.output and "all 3 verified" in result.output
    assert moto.keys(bucket) == sorted(f"moved/{n}/{k}" for n, k in keys.items())
    again = runner.invoke(args=["storage", "migrate", "--to", f"s3://{bucket}/moved"])
    assert again.exit_code == 0 and "3 were there already" in again.output
    monkeypatch.setitem(clean_app.config, "STORAGE_URL", f"s3://{bucket}/moved")
    try:
        for name, key in keys.items():
            assert storage.read(name, key) == MARKER + name.encode()
    finally:
        clean_app.extensions.pop("quorum_store", None)
    bad = runner.invoke(args=["storage", "migrate", "--to", "ftp://example/files"])
    assert bad.exit_code != 0 and "must start with file:// or s3://" in bad.output


def test_a_file_cut_short_is_refused_not_served_as_if_whole(clean_app):
    key = storage.write("attachments", PDF)
    path = storage.folder("attachments") / key
    whole = path.read_bytes()
    assert storage.read("attachments", key) == PDF
    path.write_bytes(whole[: len(whole) - 70000])  # lose the last chunks
    with pytest.raises(ValueError, match="damaged or cut short"):
        storage.read("attachments", key)


def test_a_backup_of_a_site_on_s3_holds_its_files_and_a_restore_puts_them_back(on_s3, clean_app, runner,
                                                                                 tmp_path, monkeypatch):
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    (tmp_path / "backup.key").write_text(f"{identity}\n")
    for name, value in {"BACKUP_DESTINATIONS": f"{tmp_path / 'disk-a'},{tmp_path / 'disk-b'}",
                        "BACKUP_RECIPIENT": str(identity.to_public()),
                        "BACKUP_AGE_IDENTITY_FILE": str(tmp_path / "backup.key")}.items():
        monkeypatch.setitem(clean_app.config, name, value)
    key = storage.write("attachments", MARKER)
    created = runner.invoke(args=["backup", "create"])
    assert created.exit_code == 0, created.output
    assert runner.invoke(args=["backup", "verify"]).exit_code == 0
    storage.delete("attachments", key)  # lost from the bucket
    restored = runner.invoke(args=["backup", "restore", "--yes"])
    assert restored.exit_code == 0, restored.output
    assert storage.read("attachments", key) == MARKER
    assert f"site/attachments/{key}" in on_s3["moto"].keys(on_s3["bucket"])
    assert files_under(Path(clean_app.config["QUORUM_INSTANCE"]) / "files") == []


def test_a_download_while_the_bucket_is_unreachable_is_a_503_to_try_again(on_s3, clean_app, dns, monkeypatch):
    from .support import free_port

    scene = Scene()
    client = clean_app.test_client()
    sign_in(client, scene.alice)
    posted = post(client, f"/d/{scene.thread.id}/comments", {"body": "Plan", "files": (BytesIO(PDF), "plan.pdf")},
                  content_type="multipart/form-data")
    assert posted.status_code == 303
    attachment = db.session.scalars(select(Attachment)).one()
    monkeypatch.setitem(clean_app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    answer = client.get(f"/attachments/{attachment.id}/plan.pdf")
    assert answer.status_code == 503 and b"cannot reach its file store" in answer.data
