"""Addresses we issue, signed so they cannot be forged or guessed.

Reply addresses: `r+<kind><id>.<user>.<gen>.<day>.<mac>@MAIL_DOMAIN`, lower-case, under 40
characters, bound to one member and one thread (d), comment (c), poll (p), invitation (i)
or group (g), or one "did you send this?" confirmation (k). `gen` is the member's mail_token_generation (bumping it revokes every address);
`day` is the issue day, so an address expires after REPLY_TOKEN_DAYS.
Bounce addresses (VERP): `bounces+<user>.<mac>@MAIL_DOMAIN`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from flask import current_app

REPLY_KINDS = {"d": "discussion", "c": "comment", "p": "poll", "i": "invitation", "g": "group", "k": "confirmation"}
KIND_LETTERS = {v: k for k, v in REPLY_KINDS.items()}
REPLY_TOKEN_DAYS = 365
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _mac(message: str, length: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower().rstrip("=")[:length]


def b36(number: int) -> str:
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = DIGITS[rem] + out
        if number == 0:
            return out


def _today() -> int:
    return int(time.time() // 86400)


@dataclass(frozen=True)
class ReplyTarget:
    kind: str  # discussion | comment | poll | invitation | group
    target_id: int
    user_id: int
    generation: int


class BadAddress(Exception):
    """An address we do not serve; the message is the SMTP 550 reason."""


def reply_address(user, kind: str, target_id: int, *, day: int | None = None) -> str:
    letter = KIND_LETTERS[kind]
    day = _today() if day is None else day
    body = f"{letter}{b36(target_id)}.{b36(user.id)}.{b36(user.mail_token_generation or 0)}.{b36(day)}"
    return f"r+{body}.{_mac('reply:' + body, 8)}@{current_app.config['MAIL_DOMAIN']}"


def parse_reply_local(local: str) -> ReplyTarget:
    """Check a reply address's local part (`r+…`); raise BadAddress saying why it is refused."""
    local = local.lower()
    if not local.startswith("r+"):
        raise BadAddress("not a reply address")
    parts = local[2:].split(".")
    if len(parts) != 5 or not parts[0] or parts[0][0] not in REPLY_KINDS:
        raise BadAddress("this reply address is not one we issued")
    body, mac = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(mac, _mac("reply:" + body, 8)):
        raise BadAddress("this reply address is not valid (it may have been mistyped)")
    try:
        target_id = int(parts[0][1:], 36)
        user_id, generation, day = (int(p, 36) for p in parts[1:4])
    except ValueError:
        raise BadAddress("this reply address is not one we issued") from None
    if _today() - day > REPLY_TOKEN_DAYS:
        raise BadAddress("this reply address has expired; reply to a newer email or use the web page")
    return ReplyTarget(REPLY_KINDS[parts[0][0]], target_id, user_id, generation)


def bounce_token(user) -> str:
    ident = b36(user.id)
    return f"{ident}.{_mac('bounce:' + ident, 10)}"


def user_id_from_bounce_token(token: str) -> int | None:
    ident, _, mac = token.lower().partition(".")
    if not ident or not hmac.compare_digest(mac, _mac("bounce:" + ident, 10)):
        return None
    try:
        return int(ident, 36)
    except ValueError:
        return None
