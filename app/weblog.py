"""Gunicorn's access log, without the secrets some URLs carry (app/redaction.py): the request line,
the path and the referrer are redacted before the line is written. `quorum serve` and
`quorum web` run gunicorn with --logger-class app.weblog.RedactingLogger."""
from __future__ import annotations

from gunicorn.glogging import Logger

from .redaction import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("{authorization}i", "{http_authorization}e"):  # API tokens travel in this header
            if key in atoms:
                atoms[key] = "[token]"
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
