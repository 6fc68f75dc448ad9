"""Verifying a backup: restore it into scratch and compare with its manifest."""
from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pyrage
from sqlalchemy import create_engine, text

from ...extensions import db
from .age import identities
from .common import BackupError
from .destinations import Destination, destinations
from .manifest import _libpq_url, _pg_tool, file_digests, table_digests
from .retention import newest


def unpack(path: Path, work: Path, identity_file: str | None) -> Path:
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
        root = unpack(path, Path(tmp), identity_file)
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
