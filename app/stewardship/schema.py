"""What a group export holds, table by table (docs/EXPORT_SCHEMA.md describes it for people).

Every column of an exported table is written, except those named in REDACTED (secrets and
other people's private data). Every table of the data model is either exported or listed in
NOT_EXPORTED with the reason; tests/stewardship/test_export_coverage.py fails when a new
table or column is neither, so the export can never silently fall behind the models.
"""
from __future__ import annotations

FORMAT = "quorum-group-export"
VERSION = 1

# Exported tables in dependency order (a row's references come earlier), for import.
TABLES = (
    "users", "groups", "memberships", "invitations", "join_requests", "sender_rules", "templates",
    "discussions", "polls", "comments", "reactions", "versions", "read_states",
    "poll_options", "poll_voters", "participations", "stances", "stance_choices", "outcomes",
    "attachments", "events", "audit_logs", "support_grants", "access_logs",
)

# Columns left out of the export (or, for users, the only columns kept: see USER_COLUMNS).
REDACTED = {
    "groups": {"join_token": "a live secret of the source instance", "parent_id": "subgroups are exported on their own; written as parent_handle"},
    "invitations": {"token_hash": "a live secret of the source instance"},
    "comments": {"inbound_message_id": "raw mail is not part of a group export"},
    "discussions": {"inbound_message_id": "raw mail is not part of a group export"},
    "polls": {"inbound_message_id": "raw mail is not part of a group export"},
    "stances": {"inbound_message_id": "raw mail is not part of a group export (and it names the voter)"},
    "events": {"fanned_out_at": "delivery bookkeeping of the source instance (an import marks history as delivered)"},
}
USER_COLUMNS = ("id", "email", "name", "time_zone", "locale", "deleted_at")

# Exported for the record but not recreated by an import: they belong to the old host's operators.
NOT_IMPORTED = {"support_grants", "access_logs"}

NOT_EXPORTED = {
    "user_aliases": "another person's private addresses (in their personal export instead)",
    "address_proofs": "single-use links proving an address, kept a day",
    "sender_confirmations": "\"did you send this?\" requests about held mail, kept 72 hours",
    "trusted_senders": "a member's trusted sending services (in their personal export instead)",
    "login_tokens": "sign-in secrets, kept 10 minutes",
    "feed_tokens": "members' keys to their groups' Atom feeds (secrets)",
    "sign_in_events": "personal sign-in history (in the personal export instead)",
    "recovery_codes": "second-factor secrets",
    "web_sessions": "signed-in browsers of the source instance (sign-in secrets)",
    "second_factor_challenges": "sign-ins waiting for their second factor, kept minutes",
    "notifications": "each member's private inbox, derived from events",
    "outbound_messages": "copies of sent mail; the content is in the threads",
    "inbound_messages": "raw mail as received; the content is in the threads",
    "digest_deliveries": "bookkeeping of sent digests",
    "group_exports": "bookkeeping of exports themselves",
    "webhooks": "where the source instance posts events, with their signing secrets (set them up again)",
    "webhook_deliveries": "bookkeeping of posted webhooks",
    "api_tokens": "keys to the source instance's API (secrets; bots and members make new ones)",
    "oidc_identities": "a member's single sign-on accounts at the source instance's providers (in the personal export)",
    "oidc_logins": "single sign-ons under way, kept minutes",
    "passkeys": "a member's passkeys, bound to the source instance's address (in the personal export)",
    "passkey_challenges": "passkey requests under way, kept minutes",
    "passkey_preferences": "whether a member requires a passkey (set it again with the passkeys)",
    "thread_guests": "people outside the group invited to one thread: their addresses are not the group's to take along (invite them again)",
    "direct_notices": "bookkeeping of who was told of a thread at once, derived from its start",
}

# Operating an instance (migration 0015): the instance's own settings and requests, not a group's.
NOT_EXPORTED.update({
    "site_branding": "the source instance's name, colour, logo and links (its operators' settings)",
    "account_merges": "a site admin's pending merge of two accounts, with single-use links (secrets)",
})
# Meeting invitations (migration 0016): sent from the source instance's reply addresses, so the calendars
# holding them answer that instance; a new host invites again when an outcome is set there.
NOT_EXPORTED.update({
    "meeting_invitations": "the source instance's calendar invitations (UIDs and sequence numbers of its addresses)",
    "meeting_attendances": "calendar answers to the source instance's invitations (the outcome itself is exported)",
})
REDACTED["groups"].update({
    "deletion_due_at": "a deletion the source instance's site admin scheduled (not carried to a new host)",
    "deletion_claimed_at": "bookkeeping of the source instance's deletion job",
})
