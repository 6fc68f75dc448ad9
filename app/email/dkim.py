"""DKIM-sign outbound mail (dkimpy) when DKIM_SELECTOR and DKIM_KEY_FILE are configured."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from flask import current_app

from .headers import SIGNED


@lru_cache(maxsize=4)
def _key(path: str) -> bytes:
    return Path(path).read_bytes()


def enabled() -> bool:
    return bool(current_app.config.get("DKIM_SELECTOR") and current_app.config.get("DKIM_KEY_FILE"))


def sign(raw: bytes) -> bytes:
    """The message with a DKIM-Signature header prepended (d= MAIL_DOMAIN), or unchanged if DKIM is off."""
    if not enabled():
        return raw
    import dkim

    selector = current_app.config["DKIM_SELECTOR"].encode()
    domain = current_app.config.get("DKIM_DOMAIN") or current_app.config["MAIL_DOMAIN"]
    signature = dkim.sign(raw, selector, domain.encode(), _key(current_app.config["DKIM_KEY_FILE"]),
                          include_headers=SIGNED, canonicalize=(b"relaxed", b"relaxed"))
    return signature + raw
