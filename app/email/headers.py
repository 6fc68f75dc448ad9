"""Threading and list headers: stable Message-IDs, References, List-* (RFC 2919, 2369, 8058).

Message-IDs are deterministic so a re-run builds the same message and a reply finds its parent:

    <d12.u7@DOMAIN>         thread 12's first mail, as sent to member 7 (their thread root)
    <d12.c40.u7@DOMAIN>     comment 40 in thread 12, as sent to member 7
    <d12.p3.u7@DOMAIN>      poll 3 (in thread 12), as sent to member 7
    <p3.u7@DOMAIN>          a poll standing alone in a group: its own root
    <d12.p3.e99.u7@DOMAIN>  a later event (closing soon, closed, outcome) about poll 3

Each member's root is the id of the first mail *they* got, so References always names a
message in their own mailbox (clients that never got it still thread by the shared prefix).
"""
from __future__ import annotations

import re

from flask import current_app

_PART = re.compile(r"^([dcpeu])(\d{1,12})$")
_NAMES = {"d": "discussion_id", "c": "comment_id", "p": "poll_id", "e": "event_id", "u": "user_id"}
_ORDER = "dcpeu"


def _domain() -> str:
    return current_app.config["MAIL_DOMAIN"].lower()


def message_id(*, user_id: int, discussion_id: int | None = None, comment_id: int | None = None,
               poll_id: int | None = None, event_id: int | None = None) -> str:
    """The Message-ID (with angle brackets) of one item as sent to one member."""
    values = {"d": discussion_id, "c": comment_id, "p": poll_id, "e": event_id, "u": user_id}
    local = ".".join(f"{letter}{values[letter]}" for letter in _ORDER if values[letter] is not None)
    return f"<{local}@{_domain()}>"


def root_message_id(*, user_id: int, discussion_id: int | None = None, poll_id: int | None = None) -> str:
    """The thread root for this member: the thread's first mail, or a standalone poll's first mail."""
    if discussion_id is not None:
        return message_id(user_id=user_id, discussion_id=discussion_id)
    return message_id(user_id=user_id, poll_id=poll_id)


def parse_message_id(msgid: str | None) -> dict | None:
    """What one of our Message-IDs names: {discussion_id, comment_id, poll_id, event_id, user_id}
    (absent parts are None), or None if the id is not one we made. Accepts brackets or not."""
    if not msgid:
        return None
    value = msgid.strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    local, at, domain = value.rpartition("@")
    if not at or domain.lower() != _domain():
        return None
    found = dict.fromkeys(_NAMES.values())
    last = -1
    for part in local.lower().split("."):
        match = _PART.match(part)
        if match is None:
            return None
        letter, number = match.groups()
        position = _ORDER.index(letter)
        if position <= last:  # parts appear once each, in order
            return None
        last = position
        found[_NAMES[letter]] = int(number)
    if found["user_id"] is None or (found["discussion_id"] is None and found["poll_id"] is None):
        return None
    return found


def list_id(group) -> str:
    """RFC 2919 List-Id: `"Group name" <handle.MAIL_DOMAIN>`."""
    name = group.name.replace("\\", "").replace('"', "")
    return f'"{name}" <{group.handle}.{_domain()}>'


def thread_subject(group, title: str) -> str:
    """`[handle] Title`: the same for every mail in a thread, so every client threads it."""
    return f"[{group.handle}] {' '.join(title.split())}"
