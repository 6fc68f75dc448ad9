"""Secrets we hand out: random tokens stored hashed, and signed (stateless) tokens."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


def random_token(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Keyed hash for storing tokens and codes at rest (a 6-digit code needs the key)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def six_digit_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def sign(payload, *, purpose: str) -> str:
    return _serializer(purpose).dumps(payload)


def unsign(token: str, *, purpose: str, max_age: int | None = None):
    """The payload, or None when the token is forged, for another purpose, or too old."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
