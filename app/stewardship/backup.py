"""Encrypted backups: a consistent snapshot of the database (SQLite online backup API, or
pg_dump inside an exported REPEATABLE READ snapshot on PostgreSQL), instance/files and the data
keys, with a manifest of row counts and content hashes; tarred, encrypted to an age public key
(pyrage) and written to every destination in BACKUP_DESTINATIONS. Retention keeps 7 daily,
4 weekly and 6 monthly backups. A destination is a directory (another disk, a mounted remote)
or s3://bucket/prefix on S3-compatible storage (boto3, the optional `s3` extra, imported only
when such a destination is configured). `verify` restores the newest of each destination into a
scratch database and compares it with the manifest; `restore` puts back the newest found in any
destination. Failures email the site admins.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path

import pyrage
from flask import current_app
from sqlalchemy import create_engine, select, text

from .. import storage
from ..extensions import db
from ..models import User, utcnow

log = logging.getLogger(__name__)

FORMAT = "quorum-backup"
VERSION = 1
NAME_RE = re.compile(r"^quorum-backup-(\d{8}T\d{6}Z)(?:-[0-9a-f]{4})?\.tar\.gz\.age$")
KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 6


class BackupError(Exception):
    """A backup, verify or restore failed; the message says what to do."""


# --- Settings --------------------------------------------------------------------

def _setting(name: str, config_key: str | None = None) -> str | None:
    """App config first, then the environment, then instance/.env."""
    from ..config import _read_dotenv

    value = current_app.config.get(config_key or name) or os.environ.get(name)
    if not value:
        value = _read_dotenv(Path(current_app.config["QUORUM_INSTANCE"]) / ".env").get(name)
    return value or None


def recipient() -> str:
    value = _setting("BACKUP_AGE_RECIPIENT", "BACKUP_RECIPIENT")
    if not value:
        raise BackupError("BACKUP_AGE_RECIPIENT is not set: create a key pair with `quorum backup keygen` "
                          "and set the public key (age1…) as BACKUP_AGE_RECIPIENT.")
    return value.strip()


def identities(identity_file: str | None = None) -> list:
    path = identity_file or _setting("BACKUP_AGE_IDENTITY_FILE")
    if not path:
        raise BackupError("Set BACKUP_AGE_IDENTITY_FILE (or pass --identity) to the age secret key file; "
                          "it is needed to read backups and is best kept off this server.")
    try:
        lines = Path(path).read_text().split()
    except OSError as error:
        raise BackupError(f"Cannot read the age identity file {path}: {error.strerror}") from None
    keys = [pyrage.x25519.Identity.from_str(line) for line in lines if line.startswith("AGE-SECRET-KEY-")]
    if not keys:
        raise BackupError(f"{path} holds no AGE-SECRET-KEY line.")
    return keys


class Destination:
    """Where backups are kept. Each kind lists, puts, gets and deletes whole backup files by name;
    everything else (naming, retention, choosing the newest) is shared and works on names only."""

    def list(self) -> list[str]:
        """The names of the backups held here (only names matching NAME_RE), sorted."""
        raise NotImplementedError

    def put(self, source: Path, name: str) -> str:
        """Store `source` under `name` so it appears whole or not at all; return where it went."""
        raise NotImplementedError

    def get(self, name: str, scratch: Path) -> Path:
        """A local path holding the backup `name` (downloaded into `scratch` if need be)."""
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError


class DirectoryDestination(Destination):
    """A directory (another disk, a mounted remote): backups are written atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def list(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if NAME_RE.match(p.name))

    def put(self, source: Path, name: str) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}.tmp"
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, self.path / name)
        return str(self.path / name)

    def get(self, name: str, scratch: Path) -> Path:
        path = self.path / name
        if not path.is_file():
            raise BackupError(f"{path} does not exist.")
        return path

    def delete(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)

    def __str__(self) -> str:
        return str(self.path)


def _boto3():
    try:
        import boto3
    except ImportError:
        raise BackupError("BACKUP_DESTINATIONS names an s3:// destination but boto3 is not installed: "
                          "install it with `pip install 'quorum[s3]'` (or `pip install boto3`) in Quorum's "
                          "virtualenv, or use only directories.") from None
    return boto3


class S3Destination(Destination):
    """A bucket (and optional prefix) on S3 or any S3-compatible service (MinIO, Backblaze B2, Wasabi,
    Scaleway, …). A PUT is atomic, so a backup is there whole or not at all. The endpoint comes from
    BACKUP_S3_ENDPOINT_URL (unset: AWS); credentials and region from AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN) and AWS_DEFAULT_REGION, or boto3's usual chain."""

    def __init__(self, url: str):
        match = re.match(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?$", url)
        if not match:
            raise BackupError(f"Backup destination {url!r} is not s3://bucket or s3://bucket/prefix "
                              "(bucket names are 3-63 lower-case letters, digits, dots and hyphens).")
        self.url = url.rstrip("/")
        self.bucket = match.group(1)
        self.prefix = (match.group(2) or "").strip("/")
        self._boto3 = _boto3()  # fail now, before a snapshot is made, if boto3 is missing
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from botocore.config import Config

            endpoint = _setting("BACKUP_S3_ENDPOINT_URL")
            session = self._boto3.session.Session(
                aws_access_key_id=_setting("AWS_ACCESS_KEY_ID"),
                aws_secret_access_key=_setting("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=_setting("AWS_SESSION_TOKEN"),
                region_name=_setting("AWS_DEFAULT_REGION"))
            config = Config(retries={"max_attempts": 5, "mode": "standard"},
                            s3={"addressing_style": "path"} if endpoint else {})
            self._client = session.client("s3", endpoint_url=endpoint, config=config)
        return self._client

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _fail(self, action: str, error: Exception) -> BackupError:
        return BackupError(f"{self.url}: cannot {action}: {error}")

    def list(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        names = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    name = item["Key"][len(start):]
                    if NAME_RE.match(name):
                        names.append(name)
        except Exception as error:  # botocore's ClientError, EndpointConnectionError, NoCredentialsError, …
            raise self._fail("list the backups", error) from None
        return sorted(names)

    def put(self, source: Path, name: str) -> str:
        try:
            self.client.upload_file(str(source), self.bucket, self._key(name),
                                    ExtraArgs={"ContentType": "application/octet-stream"})
        except Exception as error:
            raise self._fail(f"upload {name}", error) from None
        return f"{self.url}/{name}"

    def get(self, name: str, scratch: Path) -> Path:
        target = Path(scratch) / name
        try:
            self.client.download_file(self.bucket, self._key(name), str(target))
        except Exception as error:
            raise self._fail(f"download {name}", error) from None
        return target

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as error:
            raise self._fail(f"delete {name}", error) from None

    def __str__(self) -> str:
        return self.url


def destination(item: str) -> Destination:
    if item.startswith("s3://"):
        return S3Destination(item)
    if "://" in item:
        raise BackupError(f"Unsupported backup destination {item!r}: give a directory (another disk, or a "
                          "mounted remote) or s3://bucket/prefix for S3-compatible storage.")
    return DirectoryDestination(Path(item))


def destinations() -> list[Destination]:
    raw = _setting("BACKUP_DESTINATIONS") or ""
    result = [destination(part.strip()) for part in raw.split(",") if part.strip()]
    if not result:
        raise BackupError("BACKUP_DESTINATIONS is empty: give at least two places, comma-separated: "
                          "directories (another disk, a mounted remote) or s3://bucket/prefix.")
    return result


# --- The manifest -----------------------------------------------------------------

def _canon(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, memoryview)):
        return hashlib.sha256(bytes(value)).hexdigest()
    return value


def table_digests(connection) -> dict:
    """Row count and a content hash per table, over the model's tables, in primary-key order."""
    result = {}
    for table in db.metadata.sorted_tables:
        digest = hashlib.sha256()
        count = 0
        for row in connection.execute(select(table).order_by(*table.primary_key.columns)):
            digest.update(json.dumps([_canon(v) for v in row], sort_keys=True, default=str).encode() + b"\n")
            count += 1
        result[table.name] = {"rows": count, "sha256": digest.hexdigest()}
    return result


def file_digests(root: Path) -> dict:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def _dialect() -> str:
    return db.engine.dialect.name


def _libpq_url(url) -> str:
    return url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise BackupError(f"{name} was not found; install the PostgreSQL client tools.")


# --- Create ------------------------------------------------------------------------

def _snapshot(work: Path) -> dict:
    """Write database/, files/ and data.key into `work`; return the manifest."""
    instance = Path(current_app.config["QUORUM_INSTANCE"])
    manifest = {"format": FORMAT, "version": VERSION, "created_at": utcnow().isoformat(), "database": _dialect()}
    if _dialect() == "sqlite":
        target = work / "database.sqlite3"
        source = sqlite3.connect(db.engine.url.database)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)  # the online backup API: a consistent copy while the app runs
        finally:
            dest.close()
            source.close()
        engine = create_engine(f"sqlite:///{target}")
        with engine.connect() as conn:
            manifest["tables"] = table_digests(conn)
            manifest["alembic"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
    elif _dialect() == "postgresql":
        # Hash and dump the same snapshot: export it from a REPEATABLE READ transaction.
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
                run = subprocess.run(
                    [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                     f"--snapshot={snapshot_id}", f"--file={work / 'database.pgdump'}",
                     f"--dbname={_libpq_url(db.engine.url)}"], capture_output=True, text=True)
                if run.returncode != 0:
                    raise BackupError(f"pg_dump failed: {run.stderr.strip()}")
                manifest["tables"] = table_digests(conn)
                manifest["alembic"] = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    else:
        raise BackupError(f"Backups support SQLite and PostgreSQL, not {_dialect()}.")
    files = instance / "files"
    if files.is_dir():
        shutil.copytree(files, work / "files", ignore=shutil.ignore_patterns(".*"))
    manifest["files"] = file_digests(work / "files")
    # The data keys travel inside the age-encrypted archive, so a backup restores on a new machine.
    (work / "data.key").write_text("".join(
        __import__("base64").b64encode(k).decode() + "\n" for k in storage.data_keys()))
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return manifest


def create() -> dict:
    """Make one backup and write it to every destination; then apply retention."""
    targets = destinations()
    public = pyrage.x25519.Recipient.from_str(recipient())
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = f"quorum-backup-{stamp}-{secrets.token_hex(2)}.tar.gz.age"
    with tempfile.TemporaryDirectory(prefix="quorum-backup-") as tmp:
        work = Path(tmp) / "snapshot"
        work.mkdir()
        manifest = _snapshot(work)
        plain = Path(tmp) / "backup.tar.gz"
        with tarfile.open(plain, "w:gz") as archive:
            archive.add(work, arcname="quorum-backup")
        sealed = Path(tmp) / name
        pyrage.encrypt_file(str(plain), str(sealed), [public])
        plain.unlink()
        written, errors = [], []
        for target in targets:
            try:
                written.append(target.put(sealed, name))
            except BackupError as error:
                errors.append(str(error))
            except Exception as error:  # one failing destination must not stop the others
                errors.append(f"{target}: {error}")
    if errors:
        raise BackupError("The backup could not be written to every destination: " + "; ".join(errors))
    pruned = {str(t): apply_retention(t) for t in targets}
    return {"name": name, "written": written, "tables": len(manifest["tables"]),
            "rows": sum(t["rows"] for t in manifest["tables"].values()), "files": len(manifest["files"]),
            "pruned": pruned}


def _when(name: str) -> datetime:
    return datetime.strptime(NAME_RE.match(name).group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def keep_set(names: list[str]) -> set[str]:
    """7 daily, 4 weekly, 6 monthly: the newest backup of each of the latest periods."""
    ordered = sorted(names, key=_when, reverse=True)
    keep: set[str] = set()
    for period, count in ((lambda d: d.date(), KEEP_DAILY), (lambda d: d.isocalendar()[:2], KEEP_WEEKLY),
                          (lambda d: (d.year, d.month), KEEP_MONTHLY)):
        seen = []
        for name in ordered:
            key = period(_when(name))
            if key not in seen:
                seen.append(key)
                if len(seen) > count:
                    break
                keep.add(name)
    return keep


def apply_retention(target: Destination) -> list[str]:
    """The same rule for every kind of destination: keep_set decides, the destination deletes."""
    names = target.list()
    keep = keep_set(names)
    removed = [n for n in names if n not in keep]
    for name in removed:
        target.delete(name)
    return removed


def newest(target: Destination) -> str | None:
    names = target.list()
    return max(names, key=_when) if names else None


# --- Verify and restore --------------------------------------------------------------

def _unpack(path: Path, work: Path, identity_file: str | None) -> Path:
    sealed_ids = identities(identity_file)
    plain = work / "backup.tar.gz"
    try:
        pyrage.decrypt_file(str(path), str(plain), sealed_ids)
    except Exception as error:
        raise BackupError(f"{path.name} cannot be decrypted (damaged, or another key): {error}") from None
    try:
        with tarfile.open(plain, "r:gz") as archive:
            archive.extractall(work / "out", filter="data")
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{path.name} is damaged: {error}") from None
    plain.unlink()
    root = work / "out" / "quorum-backup"
    if not (root / "manifest.json").is_file():
        raise BackupError(f"{path.name} has no manifest.")
    return root


def _check_files(root: Path, manifest: dict) -> None:
    actual = file_digests(root / "files")
    if actual != manifest["files"]:
        missing = sorted(set(manifest["files"]) - set(actual))
        changed = sorted(k for k in actual if manifest["files"].get(k) != actual[k])
        raise BackupError(f"Stored files do not match the manifest (missing {missing[:5]}, changed {changed[:5]}).")


def _compare(expected: dict, actual: dict) -> None:
    bad = [name for name in expected if expected[name] != actual.get(name)]
    if bad:
        details = ", ".join(f"{n}: {expected[n]['rows']} rows expected, {actual.get(n, {}).get('rows')} found"
                            for n in bad[:5])
        raise BackupError(f"The restored database does not match the manifest ({details}).")


def _restore_pg(dump: Path, url: str, *, clean: bool) -> None:
    args = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={url}"]
    if clean:
        args[1:1] = ["--clean", "--if-exists", "--single-transaction"]
    run = subprocess.run([*args, str(dump)], capture_output=True, text=True)
    if run.returncode != 0:
        raise BackupError(f"pg_restore failed: {run.stderr.strip()[:2000]}")


def verify_file(path: Path, identity_file: str | None = None) -> dict:
    """Decrypt, check every file hash, restore the database into scratch and compare."""
    with tempfile.TemporaryDirectory(prefix="quorum-verify-") as tmp:
        root = _unpack(path, Path(tmp), identity_file)
        manifest = json.loads((root / "manifest.json").read_text())
        _check_files(root, manifest)
        if manifest["database"] == "sqlite":
            scratch = Path(tmp) / "scratch.sqlite3"
            shutil.copyfile(root / "database.sqlite3", scratch)
            engine = create_engine(f"sqlite:///{scratch}")
            try:
                with engine.connect() as conn:
                    conn.execute(text("PRAGMA integrity_check"))
                    actual = table_digests(conn)
            finally:
                engine.dispose()
        else:
            actual = _verify_pg(root / "database.pgdump")
        _compare(manifest["tables"], actual)
    return {"backup": path.name, "tables": len(manifest["tables"]),
            "rows": sum(t["rows"] for t in manifest["tables"].values()), "files": len(manifest["files"])}


def _verify_pg(dump: Path) -> dict:
    import psycopg

    url = db.engine.url
    scratch = f"{url.database}_verify_{secrets.token_hex(4)}"
    admin = _libpq_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{scratch}"')
    try:
        scratch_url = url.set(database=scratch)
        _restore_pg(dump, _libpq_url(scratch_url), clean=False)
        engine = create_engine(scratch_url)
        try:
            with engine.connect() as conn:
                return table_digests(conn)
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def verify_destination(target: Destination, identity_file: str | None = None) -> dict:
    """Fetch the newest backup of one destination (a download for S3) and verify it."""
    name = newest(target)
    if name is None:
        raise BackupError(f"There is no backup in {target}.")
    with tempfile.TemporaryDirectory(prefix="quorum-fetch-") as tmp:
        return {"destination": str(target), **verify_file(target.get(name, Path(tmp)), identity_file)}


def verify(identity_file: str | None = None) -> list[dict]:
    """Verify the newest backup in every destination (each copy is checked on its own, from its own
    destination). Every destination is tried; if any fails or is empty, the error names it and also
    says which copies were verified, so one lost copy does not hide that another is good."""
    reports, errors = [], []
    for target in destinations():
        try:
            reports.append(verify_destination(target, identity_file))
        except BackupError as error:
            errors.append(str(error))
        except OSError as error:
            errors.append(f"{target}: {error}")
    if errors:
        good = "; ".join(f"{r['destination']}/{r['backup']} verified ({r['rows']} rows, {r['files']} files)"
                         for r in reports)
        raise BackupError(" ".join(errors) + (f" (Good copies: {good}.)" if good else ""))
    return reports


def restore(path: Path | None = None, identity_file: str | None = None) -> dict:
    """Replace this instance's database and files with a backup (the newest if none is named)."""
    instance = Path(current_app.config["QUORUM_INSTANCE"])
    with tempfile.TemporaryDirectory(prefix="quorum-restore-") as tmp:
        if path is None:
            path = _fetch_newest(Path(tmp))
        root = _unpack(Path(path), Path(tmp), identity_file)
        manifest = json.loads((root / "manifest.json").read_text())
        _check_files(root, manifest)
        if manifest["database"] != _dialect():
            raise BackupError(f"This backup holds a {manifest['database']} database; this instance uses {_dialect()}.")
        db.session.remove()
        db.engine.dispose()
        if _dialect() == "sqlite":
            source = sqlite3.connect(root / "database.sqlite3")
            dest = sqlite3.connect(db.engine.url.database)
            try:
                source.backup(dest)
            finally:
                dest.close()
                source.close()
        else:
            _restore_pg(root / "database.pgdump", _libpq_url(db.engine.url), clean=True)
        files = instance / "files"
        if files.exists():
            shutil.rmtree(files)
        if (root / "files").is_dir():
            shutil.copytree(root / "files", files)
        _merge_keys(root / "data.key")
        with db.engine.connect() as conn:
            _compare(manifest["tables"], table_digests(conn))
    return {"backup": Path(path).name, "rows": sum(t["rows"] for t in manifest["tables"].values()),
            "files": len(manifest["files"])}


def _fetch_newest(scratch: Path) -> Path:
    """The newest backup in any destination, as a local file (a destination that cannot be read is
    skipped, so a restore works while one of them is down)."""
    candidates, errors = [], []
    for target in destinations():
        try:
            name = newest(target)
        except BackupError as error:
            errors.append(str(error))
            continue
        if name:
            candidates.append((target, name))
    if not candidates:
        raise BackupError("There is no backup to restore." + (" " + " ".join(errors) if errors else ""))
    for target, name in sorted(candidates, key=lambda c: _when(c[1]), reverse=True):
        try:
            return target.get(name, scratch)
        except BackupError as error:
            errors.append(str(error))
    raise BackupError("No backup could be fetched: " + " ".join(errors))


def _merge_keys(path: Path) -> None:
    """Make the backup's data keys usable here (kept after the current key)."""
    import base64

    if not path.is_file():
        return
    theirs = [base64.b64decode(line) for line in path.read_text().split()]
    ours = storage.data_keys()
    missing = [k for k in theirs if k not in ours]
    if not missing:
        return
    if current_app.config.get("DATA_KEY"):
        raise BackupError("The backup's files use a data key that QUORUM_DATA_KEY does not list; add it "
                          "(comma-separated, after the current key): see SECURITY.md.")
    from .keys import _write_keys

    _write_keys([*ours, *missing])


# --- Scheduling and alerts ---------------------------------------------------------------

def configured() -> bool:
    return bool(_setting("BACKUP_DESTINATIONS")) and bool(_setting("BACKUP_AGE_RECIPIENT", "BACKUP_RECIPIENT"))


def backup_if_due(today: date | None = None) -> str:
    """The daily job: make today's backup unless every destination already has one."""
    if not configured():
        log.warning("backups are not configured (BACKUP_DESTINATIONS, BACKUP_AGE_RECIPIENT)")
        return "not configured"
    today = today or utcnow().date()
    try:
        targets = destinations()
        if all(any(_when(n).date() == today for n in t.list()) for t in targets):
            return "already done today"
        result = create()
    except Exception as error:
        alert_admins("backup", str(error))
        raise
    return f"written {result['name']}"


def alert_admins(what: str, message: str) -> int:
    """Email every site admin that a backup or verify failed (once per kind per day)."""
    from ..email import messages

    db.session.rollback()
    rows = []
    day = utcnow().date().isoformat()
    for admin in db.session.scalars(select(User).where(User.is_site_admin.is_(True), User.deleted_at.is_(None))):
        if not admin.email:
            continue
        rows.append(messages.backup_failed(admin=admin, what=what, message=message, day=day))
    db.session.commit()
    return len([r for r in rows if r is not None])


def keygen() -> tuple[str, str]:
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())
