"""Daily and weekly digests: who is due, what each one holds, and sending each exactly once.

Three steps, each safe to repeat:

1. `due.find_due(now)`: members whose digest hour has come in their own time zone today (daily) or
   this ISO week on their weekday (weekly), and who have no `DigestDelivery` for that period yet.
   "Has come" (not "is exactly") so a scheduler that was down, or a DST jump that skips the
   hour, delays a digest instead of losing it.
2. `content.build_batch(user_ids, period_keys, now)`: reads what every member of the batch has not
   seen, with a fixed number of queries whatever the batch size (no per-member queries).
3. `sending.deliver_batch(...)`: builds, then claims `(user_id, period_key)` with one
   INSERT … ON CONFLICT DO NOTHING, queues only the claimed digests and commits claim and mail
   together. A second scheduler, a retried job or a worker killed mid-run therefore never sends
   a member two digests for one period: the unique key decides, in the same transaction.

Items up to the batch's snapshot event id count as delivered (`DigestDelivery.last_event_id`),
so the next digest starts after them; an empty digest is recorded but not sent.
"""
from .content import build_batch
from .due import WEEKDAYS, due_batches, due_period, find_due
from .sending import deliver_batch, run_due
from .settings import memberships_for_settings, save_settings

__all__ = ["WEEKDAYS", "build_batch", "deliver_batch", "due_batches", "due_period", "find_due",
           "memberships_for_settings", "run_due", "save_settings"]
