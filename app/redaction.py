"""Secrets in URLs, kept out of every log: sign-in links, invitations, one-click mail links, vote
links, export downloads and join links carry a token in their path. The web server's access log
(app/weblog.py) and the operator access log write URLs through redact(); so do "did you send this?" confirmations and address proofs."""
from __future__ import annotations

import re

REDACTED = "[token]"
# The URL paths that carry a token, and the path segment that is the secret; a URL counts where it
# starts a string, follows a space or a quote, or follows a scheme and host. tests/security/
# test_links_and_logs.py checks every rule of the URL map with a token argument against this.
_TOKEN_URL = re.compile(
    r"""(^|[\s"']|://[^/\s"']+)"""
    r"(/invitations/|/login/link/|/exports/|/join/|/confirm/|/merge/|/account/addresses/prove/|/p/\d+/vote/|/m/one-click/(?:[a-z_]+/)?|/m/[a-z_-]+/)"
    r"""([^/?#\s"']+)""")


# Feed addresses carry the member's feed token as a query parameter (feed readers send no cookie):
# `?token=…` in a URL, or `token=…` opening a bare query string (gunicorn's %(q)s).
_TOKEN_QUERY = re.compile(r"""(^|[?&;])(token=)([^&#;\s"']+)""")


def redact(text: str) -> str:
    """The text (a path, a request line, a referrer, a query string) with every token in a URL replaced by [token]."""
    text = _TOKEN_URL.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text or "")
    return _TOKEN_QUERY.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
