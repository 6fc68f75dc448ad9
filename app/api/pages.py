"""Cursor pagination for every list: the cursor is opaque (signed, so it cannot be forged or edited)
and names the last item of the page, so a page holds still while rows are added before or after it."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, request

from ..tokens import sign, unsign
from .schema import FieldError, InvalidRequest

PURPOSE = "api-cursor"


def after(query: dict, *, kind: str):
    """The position a `cursor` query value names for this kind of list, or None on the first page."""
    raw = query.get("cursor")
    if not raw:
        return None
    value = unsign(raw, purpose=PURPOSE)
    if not isinstance(value, dict) or value.get("k") != kind or "a" not in value:
        raise InvalidRequest([FieldError("cursor", "This cursor is not valid here: use the `next` link as given.")])
    return value["a"]


def page(items: list, query: dict, *, kind: str, position, serialize) -> dict:
    """One page of `items` (fetched with one extra to tell whether there is more), with the `next` link.
    `position(item)` is the JSON-able position a next page starts after."""
    limit = query["limit"]
    more = len(items) > limit
    items = items[:limit]
    next_url = None
    if more and items:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = sign({"k": kind, "a": position(items[-1])}, purpose=PURPOSE)
        base = current_app.config["BASE_URL"].rstrip("/")
        next_url = f"{base}{request.path}?{urlencode(args)}"
    return {"items": [serialize(item) for item in items], "next": next_url}
