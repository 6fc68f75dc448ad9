"""Putting back the newest backup found in any destination."""
from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path

from flask import current_app

from ... import storage
from ...extensions import db
from .common import BackupError
from .destinations import destinations
from .manifest import _dialect, _libpq_url, table_digests
from .retention import newest, taken_at
from .verify import _check_files, _compare, _restore_pg, unpack


def restore(path: Path | None = None, identity_file: str | None = None) -> dict:
    """Replace this instance's database and files with a backup (the newest if none is named)."""
    with tempfile.TemporaryDirectory(prefix="quorum-restore-") as tmp:
        if path is None:
            path = _fetch_newest(Path(tmp))
        root = unpack(Path(path), Path(tmp), identity_file)
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
        store = storage.current()
        if isinstance(store, storage.FileStore):
            if store.root.exists():
                shutil.rmtree(store.root)
            if (root / "files").is_dir():
                shutil.copytree(root / "files", store.root)
        else:  # a bucket: put every file of the backup back (what is already there and equal stays)
            for namespace, key in store.keys():
                if not (root / "files" / namespace / key).is_file():
                    store.delete(namespace, key)
            storage.copy_all(storage.FileStore(root / "files"), store)
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
    for target, name in sorted(candidates, key=lambda c: taken_at(c[1]), reverse=True):
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
    if current_app.config.get("DATA_KEY") or current_app.config.get("DATA_KEY_FILE"):
        raise BackupError("The backup's files use a data key that QUORUM_DATA_KEY does not list; add it "
                          "(comma-separated, after the current key): see SECURITY.md.")
    from ..keys import _write_keys

    _write_keys([*ours, *missing])
