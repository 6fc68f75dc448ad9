"""Addresses we issue: per-member bounce (VERP) tokens. Reply addresses live in tokens.py."""
from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

from ..models import User


def _mac(message: bytes, length: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:length]


def bounce_token(user: User) -> str:
    """`<user id base36>.<mac>`: names the member whose mail bounced, and cannot be forged."""
    ident = _base36(user.id)
    return f"{ident}.{_mac(f'bounce:{user.id}'.encode(), 10)}"


def user_id_from_bounce_token(token: str) -> int | None:
    ident, _, mac = token.partition(".")
    try:
        user_id = int(ident, 36)
    except ValueError:
        return None
    expected = _mac(f"bounce:{user_id}".encode(), 10)
    return user_id if hmac.compare_digest(mac, expected) else None


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
        if number == 0:
            return out
