"""What every part of a backup shares: the archive's format and name, and the one error."""
from __future__ import annotations

import re

from flask import current_app


FORMAT = "quorum-backup"
VERSION = 1
NAME_RE = re.compile(r"^quorum-backup-(\d{8}T\d{6}Z)(?:-[0-9a-f]{4})?\.tar\.gz\.age$")


class BackupError(Exception):
    """A backup, verify or restore failed; the message says what to do."""


def setting(name: str) -> str | None:
    """A backup setting, as app/config.py read it (environment, then instance/.env)."""
    return current_app.config.get(name) or None
