"""Files at rest (attachments, raw inbound mail, exports), encrypted with AES-GCM.

The data key lives outside the database: QUORUM_DATA_KEY (base64, 32 bytes) or
`instance/data.key` (created mode 600 on first use). Each file is
`b"QENC1" + key_id(8) + nonce(12) + ciphertext`, so a key rotation can find old files.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

MAGIC = b"QENC1"


def _key_file(instance: Path) -> Path:
    return instance / "data.key"


def data_keys(app=None) -> list[bytes]:
    """The current key first, then retired keys still able to decrypt (during rotation)."""
    app = app or current_app
    cached = app.extensions.get("quorum_data_keys")
    if cached:
        return cached
    keys: list[bytes] = []
    configured = app.config.get("DATA_KEY")
    if configured:
        # "current[,retired…]": during a rotation both keys are listed (see SECURITY.md).
        keys.extend(base64.b64decode(k) for k in configured.replace(",", " ").split())
    else:
        path = _key_file(Path(app.config["QUORUM_INSTANCE"]))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        for line in path.read_text().split():
            keys.append(base64.b64decode(line))
    if any(len(k) != 32 for k in keys):
        raise RuntimeError("the data key must be 32 bytes, base64-encoded")
    app.extensions["quorum_data_keys"] = keys
    return keys


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"quorum-key-id" + key).digest()[:8]


def encrypt(data: bytes, *, associated: bytes = b"") -> bytes:
    key = data_keys()[0]
    nonce = secrets.token_bytes(12)
    return MAGIC + key_id(key) + nonce + AESGCM(key).encrypt(nonce, data, associated or None)


def decrypt(blob: bytes, *, associated: bytes = b"") -> bytes:
    if not blob.startswith(MAGIC):
        raise ValueError("not an encrypted Quorum file")
    kid, nonce, body = blob[5:13], blob[13:25], blob[25:]
    for key in data_keys():
        if key_id(key) == kid:
            return AESGCM(key).decrypt(nonce, body, associated or None)
    raise ValueError("no data key matches this file (was the key rotated away?)")


def folder(namespace: str) -> Path:
    path = Path(current_app.config["QUORUM_INSTANCE"]) / "files" / namespace
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_storage_key() -> str:
    return secrets.token_hex(16)


class NoSpace(OSError):
    """The files folder is full (or over quota): nothing was stored; try again when there is room."""


def write(namespace: str, data: bytes, *, storage_key: str | None = None, fsync: bool = False) -> str:
    """Encrypt and store bytes; returns the (random, unguessable) storage key. A full disk raises
    NoSpace and leaves no partial file behind."""
    storage_key = storage_key or new_storage_key()
    final = folder(namespace) / storage_key
    tmp = final.with_name("." + storage_key + ".tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(encrypt(data, associated=storage_key.encode()))
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(tmp, final)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise NoSpace(error.errno, f"no room to store a file in {final.parent}") from error
        raise
    if fsync:
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return storage_key


def read(namespace: str, storage_key: str) -> bytes:
    if not storage_key or "/" in storage_key or storage_key.startswith("."):
        raise FileNotFoundError(storage_key)
    return decrypt((folder(namespace) / storage_key).read_bytes(), associated=storage_key.encode())


def delete(namespace: str, storage_key: str) -> None:
    try:
        (folder(namespace) / storage_key).unlink()
    except FileNotFoundError:
        pass
