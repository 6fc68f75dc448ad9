"""Data-key rotation: a new key encrypts every file under instance/files (and the TOTP secrets),
then the old key is retired.

With instance/data.key the rotation is automatic: the new key is written first (so a crash
leaves every file readable), files are re-encrypted, then the old key is dropped (`--keep-old`
keeps it after the current one). With QUORUM_DATA_KEY the operator changes the environment:
see SECURITY.md ("Rotating the data key").
"""
from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from .. import storage
from ..extensions import db
from ..models import User
from ..services import audit


def key_file() -> Path:
    return Path(current_app.config["QUORUM_INSTANCE"]) / "data.key"


def _write_keys(keys: list[bytes]) -> None:
    path = key_file()
    tmp = path.with_name(".data.key.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(base64.b64encode(k).decode() + "\n" for k in keys))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    current_app.extensions.pop("quorum_data_keys", None)


def stored_files() -> list[tuple[str, str]]:
    """(namespace, storage key) of every file in the site's store (STORAGE_URL)."""
    return storage.current().keys()


def reencrypt_all() -> dict:
    """Re-encrypt every file, TOTP secret and webhook address and secret not under the current key. Idempotent."""
    current = storage.key_id(storage.data_keys()[0])
    files = skipped = 0
    for namespace, name in stored_files():
        blob = storage.read_sealed(namespace, name)
        if not blob.startswith((storage.MAGIC, storage.STREAM_MAGIC)):
            skipped += 1
            continue
        if blob[5:13] == current:
            continue
        storage.write(namespace, storage.decrypt(blob, associated=name.encode()), storage_key=name, fsync=True)
        files += 1
    from .totp import open_secret, seal_secret

    secrets_done = 0
    for user in db.session.scalars(select(User).where(User.totp_secret.is_not(None))):
        blob = base64.b64decode(user.totp_secret)
        if blob[5:13] != current:
            user.totp_secret = seal_secret(user.id, open_secret(user))
            secrets_done += 1
    from ..services.webhooks import reseal

    webhooks_done = reseal(current)
    db.session.commit()
    return {"files": files, "totp_secrets": secrets_done, "webhook_secrets": webhooks_done, "unreadable": skipped}


def rotate(*, keep_old: bool = False, finish_only: bool = False) -> dict:
    """Make a new key current, re-encrypt everything with it, retire the old key(s)."""
    if current_app.config.get("DATA_KEY") or current_app.config.get("DATA_KEY_FILE"):
        if not finish_only:
            new = base64.b64encode(secrets.token_bytes(32)).decode()
            return {"env": True, "new_key": new}
        result = reencrypt_all()
        result["env"] = True
        audit.record(None, None, "keys_rotated", **result)
        db.session.commit()
        return result
    old = storage.data_keys()
    keys = old if finish_only else [secrets.token_bytes(32), *old]
    _write_keys(keys)
    result = reencrypt_all()
    if not keep_old:
        _write_keys(keys[:1])
    result.update(retired=len(keys) - 1, kept_old=keep_old, key_id=storage.key_id(keys[0]).hex())
    audit.record(None, None, "keys_rotated", **result)
    db.session.commit()
    return result
