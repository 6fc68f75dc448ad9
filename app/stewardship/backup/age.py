"""The age key pair backups are encrypted to (public key here, secret key best kept elsewhere)."""
from __future__ import annotations

from pathlib import Path

import pyrage

from .common import BackupError, setting


def recipient() -> str:
    value = setting("BACKUP_RECIPIENT")
    if not value:
        raise BackupError("BACKUP_AGE_RECIPIENT is not set: create a key pair with `quorum backup keygen` "
                          "and set the public key (age1…) as BACKUP_AGE_RECIPIENT.")
    return value.strip()


def identities(identity_file: str | None = None) -> list:
    path = identity_file or setting("BACKUP_AGE_IDENTITY_FILE")
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


def keygen() -> tuple[str, str]:
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())
