"""Making one backup: a consistent snapshot, tarred, encrypted, written to every destination."""
from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pyrage
from flask import current_app
from sqlalchemy import create_engine, text

from ... import storage
from ...extensions import db
from ...models import utcnow
from .age import recipient
from .common import BackupError, FORMAT, VERSION
from .destinations import destinations
from .manifest import _dialect, _libpq_url, _pg_tool, file_digests, table_digests
from .retention import apply_retention


def _snapshot(work: Path) -> dict:
    """Write database/, files/ and data.key into `work`; return the manifest."""
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
    # The files as stored (still encrypted), from the site's store: a folder or a bucket.
    store = storage.current()
    if isinstance(store, storage.FileStore):
        if store.root.is_dir():
            shutil.copytree(store.root, work / "files", ignore=shutil.ignore_patterns(".*"))
    else:
        storage.copy_all(store, storage.FileStore(work / "files"))
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
