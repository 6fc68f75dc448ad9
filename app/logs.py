"""Logging: the level from LOG_LEVEL, and the libraries that log a line per job or per SMTP command."""
from __future__ import annotations

import logging

from flask import Flask

# Loggers that write a line per job or per SMTP command at INFO: shown only at LOG_LEVEL=DEBUG.
CHATTY_LOGGERS = ("rq.worker", "rq.cron", "rq.scheduler", "rq.queue", "mail.log")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def configure(app: Flask) -> None:
    """Idempotent: also called again after RQ's schedulers reset their own loggers to INFO."""
    name = app.config.get("LOG_LEVEL", "INFO")
    if name not in LOG_LEVELS:
        raise ValueError(f"LOG_LEVEL is {name!r}; use one of {', '.join(LOG_LEVELS)}")
    level = getattr(logging, name)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in CHATTY_LOGGERS:
        logging.getLogger(chatty).setLevel(level if level == logging.DEBUG else max(level, logging.WARNING))
    # Alembic announces its plugins at INFO in every process; only migrations themselves matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
