"""Decisions, one use case per module: create, vote, close and reopen, remind, write an outcome,
read the results (page, CSV, calendar), list a thread's or group's polls, seed the demo.

Anonymous polls: while open a stance keeps its participant so the voter can see their own
vote; at closing every stance is unlinked (from the voter and from the inbound mail it came
from), re-inserted in random order without timestamps, and superseded stances are dropped, so
no row, id order or time links a voter to a choice. The event log never names the voter of an
anonymous poll (stance_created has no actor).
"""
from .closing import close_due_polls, close_poll, reopen_poll, send_closing_soon
from .editing import (
    NeedsConfirmation, OptionEdits, add_option, change_closing, done_by_message, edit_poll, history_lines, poll_history, votes_on,
)
from .common import visible_poll
from .creation import create_poll, delete_poll, open_poll
from .csv_export import csv_export
from .demo import seed_demo_polls
from .listing import polls_for_group, polls_for_thread, thread_page_polls
from .outcomes import latest_outcome, outcome_ics, set_outcome
from .reminders import electorate_ids, non_voter_ids, remind
from .results import PollResults, VoterRow, hidden_reason, results_for, tally
from .running import (
    AUDIENCE_LABELS, Receipt, add_to_thread, check_review_at, clean_running, closing_soon_recipients, receipts, remind_person,
    send_outcome_reviews, set_review, threads_for, update_running,
)
from .voting import cast_vote, current_stance, one_click_choices, one_click_target, remove_vote, vote_history

__all__ = [
    "add_option", "cast_vote", "change_closing", "edit_poll", "history_lines", "NeedsConfirmation", "OptionEdits", "poll_history",
    "votes_on", "close_due_polls", "done_by_message", "close_poll", "create_poll", "csv_export", "current_stance", "delete_poll",
    "electorate_ids", "hidden_reason", "latest_outcome", "non_voter_ids", "one_click_choices", "one_click_target", "open_poll", "outcome_ics",
    "PollResults", "polls_for_group", "polls_for_thread", "reopen_poll", "remind", "remove_vote", "results_for", "seed_demo_polls",
    "send_closing_soon", "set_outcome", "tally", "thread_page_polls", "visible_poll", "vote_history", "VoterRow",
    "AUDIENCE_LABELS", "Receipt", "add_to_thread", "check_review_at", "clean_running", "closing_soon_recipients", "receipts",
    "remind_person", "send_outcome_reviews", "set_review", "threads_for", "update_running",
]
