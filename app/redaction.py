"""Secrets in URLs, kept out of every log: sign-in links, invitations, one-click mail links, vote
links, export downloads and join links carry a token in their path. The web server's access log
(app/weblog.py) and the operator access log write paths through redact_path()."""
from __future__ import annotations

import re

REDACTED = "[token]"
# The URL rules that carry a token, and the path segment that is the secret. tests/security/
# test_links_and_logs.py checks every rule of the URL map with a token argument against these.
_TOKEN_PATHS = [re.compile(pattern) for pattern in (
    r"^(/invitations/|/login/link/|/exports/|/join/|/p/\d+/vote/)([^/?#]+)",
    r"^(/m/one-click/(?:[a-z_]+/)?)([^/?#]+)",
    r"^(/m/[a-z_-]+/)([^/?#]+)",
)]


def redact_path(path: str) -> str:
    """The path (and query) with any token replaced by [token]."""
    path = path or ""
    for pattern in _TOKEN_PATHS:
        redacted, count = pattern.subn(lambda m: m.group(1) + REDACTED, path, count=1)
        if count:
            return redacted
    return path
