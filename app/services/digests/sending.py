"""Sending a batch of digests exactly once: claim each (member, period), queue the mail, commit
both together."""
from __future__ import annotations

from datetime import datetime


from ...email import messages, render_email
from ...email.headers import ListHeaders
from ...email.addresses import reply_address
from ...extensions import db
from ...i18n import by_language, in_locale, locales_for
from ...models import DigestDelivery, utcnow
from ...i18n import _
from ..errors import Invalid
from .content import Digest, build_batch
from .due import batches, find_due


def run_due(now: datetime | None = None, *, ignore_hour: bool = False, member_email: str | None = None) -> dict:
    """Build and send, in this process, the digests due now (the CLI). Same guarantees as the jobs."""
    now = now or utcnow()
    user_ids = None
    if member_email is not None:
        from ..accounts import user_by_email

        user = user_by_email(member_email)
        if user is None:
            raise Invalid(_("There is no member with the address %(email)s.", email=member_email), field="member")
        user_ids = [user.id]
    totals = {"due": 0, "sent": 0, "empty": 0, "skipped": 0}
    due = find_due(now, ignore_hour=ignore_hour, user_ids=user_ids)
    totals["due"] = len(due)
    for batch in batches(due):
        result = deliver_batch([d.user_id for d in batch], [d.period_key for d in batch], now=now)
        for name in ("sent", "empty", "skipped"):
            totals[name] += result[name]
    return totals


def _insert(table):
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def _way_out(digest: Digest) -> tuple[str, ListHeaders]:
    """The footer's "stop digests" link and the List-Unsubscribe headers (RFC 2369, 8058) of one digest.

    One click (or the mail client's unsubscribe button) stops digests: the https target takes a
    cookieless POST with a signed `digest_off` token; the mailto sends "digest off" to the member's
    reply address for the digest's first group, which the inbound commands read the same way.
    """
    from ...email import links

    token = links.make("digest_off", digest.user)
    mailto = reply_address(digest.user, "group", digest.sections[0].group_id)
    return links.url("digest_off", token), ListHeaders(
        unsubscribe_url=links.one_click_url(token, "digest_off"), unsubscribe_mailto=mailto, mailto_subject="digest off")


def deliver_batch(user_ids: list[int], period_keys: list[str], *, now: datetime) -> dict:
    """Build, claim and queue one batch; claim and mail commit together (the commit hands the mail to the send jobs)."""
    digests = build_batch(user_ids, period_keys, now)
    # Rendering is the slow part: do it before the write transaction starts.
    way_out = {d.user.id: _way_out(d) for d in digests if d.item_count}
    due = [d for d in digests if d.item_count]
    language = locales_for([d.user for d in due])
    rendered = {}
    for code, batch in by_language(due, lambda d: language[d.user.id]):  # each language's catalog loaded once
        with in_locale(code):
            rendered.update((d.user.id, render_email("digest", user=d.user, digest=d,
                                                     digest_off_url=way_out[d.user.id][0])) for d in batch)
    rows = [
        {"user_id": d.user.id, "period_key": d.period_key, "last_event_id": d.last_event_id,
         "item_count": d.item_count, "status": "sent" if d.item_count else "empty", "created_at": now}
        for d in digests
    ]
    claimed: set[tuple[int, str]] = set()
    if rows:
        statement = (_insert(DigestDelivery).values(rows)
                     .on_conflict_do_nothing(index_elements=["user_id", "period_key"])
                     .returning(DigestDelivery.user_id, DigestDelivery.period_key))
        claimed = set(db.session.execute(statement).tuples())
    sent = empty = 0
    for d in digests:
        if (d.user.id, d.period_key) not in claimed:
            continue
        if not d.item_count:
            empty += 1
            continue
        sent += 1
        messages.digest(user=d.user, period_key=d.period_key, rendered=rendered[d.user.id], lists=way_out[d.user.id][1])
    db.session.commit()
    return {"sent": sent, "empty": empty, "skipped": len(digests) - len(claimed)}
