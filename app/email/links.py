"""Signed one-click links in emails: vote, mute a thread, switch a group to digest, unsubscribe,
stop digests.

A token names its action, the member, the member's mail_token_generation (bumping it revokes
every link issued so far) and the target. Tokens are stateless; `verify` checks them.

    token = links.make("vote", user, poll_id=3, option_id=9)
    payload = links.verify(token, "vote")   # {"u": user_id, "g": generation, "p": 3, "o": 9} or None
"""
from __future__ import annotations

from flask import current_app

from ..extensions import db
from ..tokens import sign, unsign

# What a footer link may do (each names its service in services/notifications.apply_action).
FOOTER_ACTIONS = ("mute_thread", "digest_group", "unsubscribe_group", "unsubscribe_all", "digest_off")
ACTIONS = ("vote", *FOOTER_ACTIONS)
# What RFC 8058 one-click POSTs may do: leave a group's mail (notifications), or stop digests.
ONE_CLICK_ACTIONS = ("unsubscribe_group", "digest_off")
# Footer links stay valid for a year (mail is read late); vote links until the poll closes anyway.
MAX_AGE = 366 * 24 * 3600
_FIELDS = {"poll_id": "p", "option_id": "o", "discussion_id": "d", "group_id": "gr"}


def make(action: str, user, **targets: int) -> str:
    """A signed token for `action` by `user` on `targets` (poll_id, option_id, discussion_id, group_id)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")
    payload = {"u": user.id, "g": user.mail_token_generation or 0}
    for name, value in targets.items():
        payload[_FIELDS[name]] = int(value)
    return sign(payload, purpose=f"mail-link:{action}")


def verify(token: str, action: str) -> dict | None:
    """The payload of a valid token for `action`, or None: forged, for another action, too old,
    revoked (generation bumped) or for an account that no longer exists.

    Payload keys: user_id, generation, and whichever targets the token names:
    poll_id, option_id, discussion_id, group_id.
    """
    from ..models import User

    if action not in ACTIONS or not token or len(token) > 500:
        return None
    payload = unsign(token, purpose=f"mail-link:{action}", max_age=MAX_AGE)
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    user = db.session.get(User, payload["u"])
    if user is None or user.deleted_at is not None or (user.mail_token_generation or 0) != payload.get("g"):
        return None
    out = {"user_id": payload["u"], "generation": payload["g"]}
    for name, short in _FIELDS.items():
        if isinstance(payload.get(short), int):
            out[name] = payload[short]
    return out


def url(action: str, token: str) -> str:
    """The page a link opens (GET shows one button; only the POST acts)."""
    if action == "vote":
        raise ValueError("use vote_url() for vote links")
    return f"{current_app.config['BASE_URL']}/m/{action}/{token}"


def vote_url(user, *, poll_id: int, option_id: int) -> str:
    """One-click vote: the decisions area's confirm page at /p/<poll_id>/vote/<token>."""
    token = make("vote", user, poll_id=poll_id, option_id=option_id)
    return f"{current_app.config['BASE_URL']}/p/{poll_id}/vote/{token}"


def one_click_url(token: str, action: str = "unsubscribe_group") -> str:
    """RFC 8058 List-Unsubscribe target (POST without cookies) for an unsubscribe_group token,
    or for a digest_off token (`/m/one-click/digest_off/<token>`)."""
    if action not in ONE_CLICK_ACTIONS:
        raise ValueError(f"no one-click unsubscribe for {action!r}")
    if action == "unsubscribe_group":
        return f"{current_app.config['BASE_URL']}/m/one-click/{token}"
    return f"{current_app.config['BASE_URL']}/m/one-click/{action}/{token}"


def footer_links(user, *, group, discussion_id: int | None = None) -> dict:
    """The footer's URLs for one member: mute this thread, digest this group, unsubscribe."""
    out = {
        "digest_group": url("digest_group", make("digest_group", user, group_id=group.id)),
        "unsubscribe_group": url("unsubscribe_group", make("unsubscribe_group", user, group_id=group.id)),
        "unsubscribe_all": url("unsubscribe_all", make("unsubscribe_all", user)),
    }
    if discussion_id is not None:
        out["mute_thread"] = url("mute_thread", make("mute_thread", user, discussion_id=discussion_id))
    return out
