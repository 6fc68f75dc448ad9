"""The manifest: row counts and content hashes per table, and hashes of the files."""
from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from ...extensions import db
from .common import BackupError


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
