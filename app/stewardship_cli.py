"""`quorum export`, `quorum import`, `quorum backup` and `quorum keys`: leave, back up, rotate."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from .i18n import _, number


@click.group("export")
def export_group() -> None:
    """Export data (a group's complete content, as a zip)."""


@export_group.command("group")
@click.argument("handle")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def export_group_command(handle: str, out: str) -> None:
    """Write group HANDLE's export (JSON + CSV + offline HTML + attachments) to OUT.zip."""
    from .extensions import db
    from .services.errors import DomainError
    from .services.groups import group_by_handle
    from .services import audit
    from .stewardship.export import build_zip

    try:
        group = group_by_handle(handle)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    data = build_zip(group)
    Path(out).write_bytes(data)
    audit.record(None, group.id, "group_exported", via="cli", bytes=len(data))
    db.session.commit()
    click.echo(_("Exported %(handle)s to %(path)s (%(size)s bytes)", handle=group.handle, path=out, size=number(len(data))))


@click.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--handle", default=None, help="Import under another handle (if the original is taken here).")
@with_appcontext
def import_command(path: str, handle: str | None) -> None:
    """Recreate a group from an export zip: members matched by email, ids remapped."""
    from .services.errors import DomainError
    from .stewardship.importer import import_zip

    try:
        group = import_zip(Path(path).read_bytes(), handle=handle)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(_("Imported group %(handle)s (%(name)s)", handle=group.handle, name=group.name))


@click.group("backup")
def backup_group() -> None:
    """Encrypted backups to every BACKUP_DESTINATIONS directory (see SECURITY.md)."""


def _fail(error) -> None:
    raise click.ClickException(str(error))


@backup_group.command("create")
@with_appcontext
def backup_create() -> None:
    """Make a consistent, encrypted backup now and apply retention (7 daily, 4 weekly, 6 monthly)."""
    from .stewardship import backup

    try:
        result = backup.create()
    except Exception as error:
        backup.alert_admins("backup", str(error))
        _fail(error)
    click.echo(_("Backup %(name)s: %(rows)s rows in %(tables)s tables, %(files)s files", name=result["name"],
                 rows=result["rows"], tables=result["tables"], files=result["files"]))
    for path in result["written"]:
        click.echo("  " + _("written %(path)s", path=path))
    for dest, removed in result["pruned"].items():
        for name in removed:
            removed_path = f"{dest}/{name}"
            click.echo("  " + _("retention removed %(path)s", path=removed_path))


@backup_group.command("verify")
@click.option("--identity", default=None, help="age identity file (default BACKUP_AGE_IDENTITY_FILE).")
@click.option("--file", "path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Verify this backup file instead of the newest in each destination.")
@with_appcontext
def backup_verify(identity: str | None, path: str | None) -> None:
    """Restore the newest backup of each destination into scratch and compare with its manifest."""
    from .stewardship import backup

    try:
        reports = [backup.verify_file(Path(path), identity)] if path else backup.verify(identity)
    except Exception as error:
        backup.alert_admins("verify", str(error))
        _fail(error)
    for report in reports:
        where = report.get("destination", path)
        backup_path = f"{where}/{report['backup']}"
        click.echo(_("OK %(backup)s: %(rows)s rows, %(files)s files match the manifest", backup=backup_path,
                     rows=report["rows"], files=report["files"]))


@backup_group.command("restore")
@click.option("--identity", default=None, help="age identity file (default BACKUP_AGE_IDENTITY_FILE).")
@click.option("--file", "path", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Restore this backup file (default: the newest).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def backup_restore(identity: str | None, path: str | None, yes: bool) -> None:
    """Replace this instance's database and files with a backup. Stop the services first."""
    from .stewardship import backup

    if not yes:
        click.confirm(_("This replaces the database and files of this instance. Continue?"), abort=True)
    try:
        result = backup.restore(Path(path) if path else None, identity)
    except Exception as error:
        _fail(error)
    click.echo(_("Restored %(backup)s: %(rows)s rows, %(files)s files", backup=result["backup"], rows=result["rows"],
                 files=result["files"]))


@backup_group.command("keygen")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Where to write the secret identity.")
def backup_keygen(out: str) -> None:
    """Create an age key pair: keep the identity off this server; set the recipient here."""
    import os

    from .stewardship.backup import keygen

    secret, public = keygen()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"# public key: {public}\n{secret}\n")
    click.echo(_("Identity written to %(path)s (keep it safe, off this server).", path=out))
    click.echo(f"BACKUP_AGE_RECIPIENT={public}")


@click.group("keys")
def keys_group() -> None:
    """The data key that encrypts files at rest."""


@keys_group.command("rotate")
@click.option("--keep-old", is_flag=True, help="Keep the old key listed after the new one.")
@click.option("--finish", is_flag=True, help="Only re-encrypt with the current key (after a crash, or with QUORUM_DATA_KEY).")
@with_appcontext
def keys_rotate(keep_old: bool, finish: bool) -> None:
    """Generate a new data key, re-encrypt every stored file with it and retire the old key."""
    from .stewardship.keys import rotate

    result = rotate(keep_old=keep_old, finish_only=finish)
    if result.get("env") and "new_key" in result:
        click.echo(_("QUORUM_DATA_KEY is set in the environment, so the key is yours to change:"))
        click.echo("  1. " + _("set QUORUM_DATA_KEY=%(new_key)s,<%(current)s> and restart", new_key=result["new_key"],
                               current=_("the current key")))
        click.echo("  2. " + _("run %(command)s", command="`quorum keys rotate --finish`"))
        click.echo("  3. " + _("set QUORUM_DATA_KEY=%(new_key)s and restart", new_key=result["new_key"]))
        return
    click.echo(json.dumps(result))
    click.echo(_("Re-encrypted %(files)s files, %(totp)s second-factor secrets and %(webhooks)s webhook addresses and "
                 "secrets.", files=result["files"], totp=result["totp_secrets"], webhooks=result["webhook_secrets"]))
