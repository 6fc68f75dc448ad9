"""Backups to S3-compatible storage: a real S3 API (moto's server) on loopback, next to a directory."""
from __future__ import annotations

import logging
import socket
import sys
from datetime import datetime, timedelta, timezone

import pyrage
import pytest

from app.extensions import db
from app.models import User
from app.stewardship import backup
from tests.factories import UserFactory

from .conftest import ATTACHMENT_BYTES

moto_server = pytest.importorskip(
    "moto.server", reason="moto[server] is not installed (pip install -e '.[test]'): S3 backup tests need it")
boto3 = pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e '.[test]')")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint, monkeypatch, request, clean_app):
    # Credentials and region the way boto3 reads them; the endpoint the way an operator sets it for
    # MinIO (the environment is read into the app's configuration when the app is made).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "quorum-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "quorum-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setitem(clean_app.config, "BACKUP_S3_ENDPOINT_URL", s3_endpoint)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-1",
                          aws_access_key_id="quorum-test", aws_secret_access_key="quorum-test-secret")
    bucket = f"quorum-{request.node.name.replace('_', '-')[:40].strip('-')}"
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    yield {"client": client, "bucket": bucket, "prefix": "nightly/quorum", "endpoint": s3_endpoint}


def keys(s3) -> list[str]:
    listing = s3["client"].list_objects_v2(Bucket=s3["bucket"])
    return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def s3_setup(clean_app, tmp_path, rich_group, s3):
    identity = pyrage.x25519.Identity.generate()
    key_file = tmp_path / "backup.key"
    key_file.write_text(f"{identity}\n")
    folder = tmp_path / "disk-a"
    url = f"s3://{s3['bucket']}/{s3['prefix']}"
    config = clean_app.config
    saved = {k: config.get(k) for k in ("BACKUP_DESTINATIONS", "BACKUP_RECIPIENT", "BACKUP_AGE_IDENTITY_FILE")}
    config.update(BACKUP_DESTINATIONS=f"{folder},{url}", BACKUP_RECIPIENT=str(identity.to_public()),
                  BACKUP_AGE_IDENTITY_FILE=str(key_file))
    yield {"dir": folder, "url": url, "identity": key_file, "s3": s3, **rich_group}
    config.update(saved)


def test_backup_to_a_directory_and_s3_verify_and_restore_from_s3_alone(s3_setup, runner):
    s3 = s3_setup["s3"]
    result = runner.invoke(args=["backup", "create"])
    assert result.exit_code == 0, result.output
    [local] = s3_setup["dir"].glob("quorum-backup-*.tar.gz.age")
    assert keys(s3) == [f"{s3['prefix']}/{local.name}"]
    assert f"written {s3_setup['url']}/{local.name}" in result.output
    stored = s3["client"].get_object(Bucket=s3["bucket"], Key=keys(s3)[0])["Body"].read()
    assert stored == local.read_bytes()  # the same age-encrypted file (its manifest inside) in both places
    assert ATTACHMENT_BYTES not in stored and b"Allotment Society" not in stored

    result = runner.invoke(args=["backup", "verify"])
    assert result.exit_code == 0, result.output
    assert f"OK {s3_setup['url']}/{local.name}" in result.output and result.output.count("match the manifest") == 2

    # The directory copy is lost: the S3 copy is still verified (downloaded and restored into scratch),
    # and verify fails, naming the empty destination, so the admins learn a copy is missing.
    local.unlink()
    s3_only = backup.S3Destination(s3_setup["url"])
    report = backup.verify_destination(s3_only)
    assert report["backup"] == local.name and report["rows"] > 0 and report["files"] >= 2
    with pytest.raises(backup.BackupError) as failure:
        backup.verify()
    assert f"There is no backup in {s3_setup['dir']}" in str(failure.value)
    assert f"{s3_setup['url']}/{local.name} verified" in str(failure.value)

    # Restore fetches the newest backup from whichever destination holds it: here only S3.
    UserFactory(email="intruder@example.org")
    result = runner.invoke(args=["backup", "restore", "--yes"])
    assert result.exit_code == 0, result.output
    assert local.name in result.output
    db.session.remove()
    assert db.session.scalar(db.select(User).where(User.email == "intruder@example.org")) is None
    assert db.session.scalar(db.select(User).where(User.email == "bea@example.org")) is not None


def test_retention_prunes_in_s3_with_the_same_rule_as_directories(s3_setup):
    s3 = s3_setup["s3"]
    start = datetime.now(timezone.utc).replace(hour=3, minute=0, second=0, microsecond=0) - timedelta(days=90)
    old = [f"quorum-backup-{start + timedelta(days=i):%Y%m%dT%H%M%SZ}.tar.gz.age" for i in range(90)]
    s3_setup["dir"].mkdir()
    for name in old:
        s3["client"].put_object(Bucket=s3["bucket"], Key=f"{s3['prefix']}/{name}", Body=b"old")
        (s3_setup["dir"] / name).write_bytes(b"old")
    # Objects that are not backups of this prefix are never touched.
    s3["client"].put_object(Bucket=s3["bucket"], Key=f"{s3['prefix']}/README.txt", Body=b"hands off")
    s3["client"].put_object(Bucket=s3["bucket"], Key=f"other/{old[0]}", Body=b"another instance")

    result = backup.create()
    everything = [*old, result["name"]]
    expected = backup.keep_set(everything)
    assert result["name"] in expected and len(expected) < 7 + 4 + 6
    s3_names = {key.rsplit("/", 1)[1] for key in keys(s3) if key.startswith(s3["prefix"] + "/quorum-backup-")}
    assert s3_names == expected
    assert {p.name for p in s3_setup["dir"].glob("quorum-backup-*")} == expected
    assert sorted(result["pruned"][s3_setup["url"]]) == sorted(set(everything) - expected)
    assert f"{s3['prefix']}/README.txt" in keys(s3) and f"other/{old[0]}" in keys(s3)
    assert backup.newest(backup.S3Destination(s3_setup["url"])) == result["name"]


def test_a_corrupted_object_in_s3_is_detected_and_the_site_admins_are_told(s3_setup, runner, outbox):
    s3 = s3_setup["s3"]
    assert runner.invoke(args=["backup", "create"]).exit_code == 0
    [key] = keys(s3)
    data = bytearray(s3["client"].get_object(Bucket=s3["bucket"], Key=key)["Body"].read())
    data[len(data) // 2] ^= 0xFF
    s3["client"].put_object(Bucket=s3["bucket"], Key=key, Body=bytes(data))

    with pytest.raises(backup.BackupError, match="cannot be decrypted|damaged"):
        backup.verify_destination(backup.S3Destination(s3_setup["url"]))
    result = runner.invoke(args=["backup", "verify"])
    assert result.exit_code != 0
    assert "cannot be decrypted" in result.output or "damaged" in result.output
    alert = outbox.last_to("opal@example.org")
    assert "verify FAILED" in alert.subject and key.rsplit("/", 1)[1] in alert.text


def test_a_missing_bucket_fails_the_backup_but_the_directory_copy_is_written(s3_setup, clean_app):
    clean_app.config["BACKUP_DESTINATIONS"] = f"{s3_setup['dir']},s3://no-such-bucket-here/x"
    with pytest.raises(backup.BackupError, match="no-such-bucket-here.*cannot upload"):
        backup.create()
    assert len(list(s3_setup["dir"].glob("quorum-backup-*"))) == 1


def test_s3_destinations_without_boto3_get_a_clear_message(clean_app, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "boto3", None)  # `import boto3` now raises ImportError
    clean_app.config["BACKUP_DESTINATIONS"] = f"{tmp_path},s3://bucket/prefix"
    try:
        with pytest.raises(backup.BackupError, match=r"boto3 is not installed.*quorum\[s3\]"):
            backup.destinations()
        clean_app.config["BACKUP_DESTINATIONS"] = f"{tmp_path}"
        assert [str(d) for d in backup.destinations()] == [str(tmp_path)]  # directories need no boto3
    finally:
        clean_app.config["BACKUP_DESTINATIONS"] = None


def test_destination_urls_are_parsed_and_others_refused(clean_app):
    dest = backup.destination("s3://my-bucket/a/b/")
    assert (dest.bucket, dest.prefix, str(dest)) == ("my-bucket", "a/b", "s3://my-bucket/a/b")
    assert backup.destination("s3://my-bucket").prefix == ""
    for bad in ("s3://", "s3://Bad_Bucket/x", "sftp://host/path"):
        with pytest.raises(backup.BackupError):
            backup.destination(bad)
