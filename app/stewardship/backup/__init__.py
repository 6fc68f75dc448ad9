"""Encrypted backups: a consistent snapshot of the database (SQLite online backup API, or
pg_dump inside an exported REPEATABLE READ snapshot on PostgreSQL), instance/files and the data
keys, with a manifest of row counts and content hashes; tarred, encrypted to an age public key
(pyrage) and written to every destination in BACKUP_DESTINATIONS. Retention keeps 7 daily,
4 weekly and 6 monthly backups. A destination is a directory (another disk, a mounted remote)
or s3://bucket/prefix on S3-compatible storage (boto3, the optional `s3` extra, imported only
when such a destination is configured). `verify` restores the newest of each destination into a
scratch database and compares it with the manifest; `restore` puts back the newest found in any
destination. Failures email the site admins.
"""
from .age import keygen, recipient
from .common import BackupError
from .destinations import S3Destination, destination, destinations
from .restore import restore
from .retention import keep_set, newest, taken_at
from .schedule import alert_admins, backup_if_due
from .snapshot import create
from .verify import unpack, verify, verify_destination, verify_file

__all__ = ["BackupError", "S3Destination", "alert_admins", "backup_if_due", "create",
           "destination", "destinations", "keep_set", "keygen", "newest", "recipient", "restore", "taken_at",
           "unpack", "verify", "verify_destination", "verify_file"]
