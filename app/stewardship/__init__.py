"""Keeping the security promise in software: export and import, personal data, backups,
key rotation, operator access by consent, the audit log and the second factor."""
