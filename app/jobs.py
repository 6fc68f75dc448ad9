"""RQ jobs: thin and loud. They take ids, call a service, and let exceptions propagate
so RQ records failures and retries. Each runs in its own app context and session."""
from __future__ import annotations

import functools
import logging
from datetime import timedelta

from flask import Flask, current_app, has_app_context

log = logging.getLogger(__name__)


def _app() -> Flask:
    """The app of the current context: `quorum worker` and the scheduler run inside one."""
    if not has_app_context():
        raise RuntimeError("Quorum jobs run inside the app: start workers with `quorum worker`")
    return current_app._get_current_object()


def job(func):
    """Run `func` inside a fresh app context whose database session is removed afterwards."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from .extensions import db

        with _app().app_context():
            try:
                return func(*args, **kwargs)
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return wrapper


@job
def send_message(message_id: int) -> str:
    """Deliver one stored outbound message; a TemporaryFailure propagates so RQ retries it."""
    from .email import deliver

    return deliver(message_id)


@job
def send_messages(message_ids: list[int]) -> dict:
    """Deliver a batch (one commit's messages) over one kept relay connection; a copy the relay turns away
    for now gets a send_message job of its own, with the backoff and retries it would have had alone."""
    from .email.outbox import deliver_batch

    counts, refused = deliver_batch(message_ids)
    for message_id in refused:
        _retry_later(message_id)
    return counts


def _retry_later(message_id: int) -> None:
    """The next attempt of a message a batch could not send (then RQ's retries for the attempts after).
    If Redis refuses, the row stays "retrying" and the sweeper sends it when it is due (app/dispatch.py)."""
    from rq import Retry

    from .email.outbox import retry_delays
    from .extensions import db
    from .models import OutboundMessage
    from .queue import queue

    row = db.session.get(OutboundMessage, message_id)
    if row is None or row.status != "retrying":
        return
    delays = retry_delays()
    later = delays[row.attempts:]
    try:
        queue().enqueue_in(timedelta(seconds=delays[min(row.attempts, len(delays)) - 1]), send_message, message_id,
                           retry=Retry(max=len(later), interval=later) if later else None)
    except Exception as error:  # noqa: BLE001 - Redis down: the sweeper has it
        log.warning("message %s: its retry could not be scheduled (%s); the sweeper will send it",
                    message_id, type(error).__name__)


@job
def deliver_webhook(delivery_id: int) -> str:
    """Post one webhook delivery; a TemporaryFailure propagates so RQ retries it with backoff."""
    from .services.webhooks import deliver

    return deliver(delivery_id)


@job
def fan_out_event(event_id: int) -> int:
    """Decide who hears of an event; write notifications and queue their emails."""
    from .services.fanout import fan_out

    return fan_out(event_id)


@job
def process_inbound(inbound_id: int) -> str:
    """Run one stored inbound message through the mail pipeline (idempotent: once per message)."""
    from mail.processing import process_stored

    return process_stored(inbound_id)


@job
def expire_inbound() -> int:
    """Daily: delete stored inbound mail older than INBOUND_RETENTION_DAYS."""
    from .services.inbound import delete_expired

    return delete_expired()


@job
def expire_sender_confirmations() -> int:
    """Hourly: held mail whose sender never confirmed it (within 72 hours) is rejected and deleted."""
    from .services.sender_proof import expire

    return expire()


@job
def tell_cut_off_aliases() -> int:
    """Every 5 minutes: tell the owners of aliases attached without their proof that they are gone."""
    from .services.addresses import tell_cut_off_owners

    return tell_cut_off_owners()


@job
def close_due_polls() -> int:
    """Every 30 s: close polls whose closing time has passed (each gets one poll_closed event)."""
    from .services.polls import close_due_polls as close_due

    return close_due()


@job
def send_closing_soon() -> int:
    """Every minute: record poll_closing_soon once for polls within 24 hours of closing."""
    from .services.polls import send_closing_soon as notify

    return notify()


@job
def send_outcome_reviews() -> int:
    """Every five minutes: remind each outcome's author on its review date, once."""
    from .services.polls import send_outcome_reviews as remind

    return remind()


@job
def enqueue_due_digests(now_iso: str | None = None) -> int:
    """Every five minutes: hand members whose digest hour has come to build_digest_batch jobs.
    Returns how many members were handed out."""
    from datetime import datetime

    from .queue import queue
    from .services.digests import due_batches

    batches = due_batches(datetime.fromisoformat(now_iso) if now_iso else None)
    q = queue()
    for batch in batches:
        q.enqueue(build_digest_batch, batch.user_ids, batch.period_keys, batch.now.isoformat(), job_timeout=1800)
    return sum(len(batch.user_ids) for batch in batches)


@job
def build_digest_batch(user_ids: list[int], period_keys: list[str], now_iso: str) -> dict:
    """Build, claim and queue one batch of digests (idempotent: one per member per period)."""
    from datetime import datetime

    from .services.digests import deliver_batch

    return deliver_batch(user_ids, period_keys, now=datetime.fromisoformat(now_iso))


@job
def build_group_export(export_id: int) -> str:
    """Build a group export zip (progress in GroupExport.progress) and email its download link."""
    from .stewardship.export import run_export

    return run_export(export_id)


@job
def backup_if_due() -> str:
    """Hourly: make today's encrypted backup unless every destination already has one."""
    from .stewardship.backup import backup_if_due as run_backup

    return run_backup()


@job
def purge_expired_exports() -> int:
    """Hourly: delete export files whose 7-day download link has expired."""
    from .stewardship.export import purge_expired

    return purge_expired()


@job
def purge_personal_data() -> dict:
    """Daily: delete used-up sign-in tokens and sign-in history past its retention."""
    from .stewardship.retention import purge

    return purge()


@job
def delete_due_groups() -> int:
    """Delete the groups whose deletion grace period is over (each claimed once)."""
    from .services.site_admin import delete_due_groups as run

    return run()
