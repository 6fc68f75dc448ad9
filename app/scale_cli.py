"""`quorum storage migrate` and `quorum db copy`: moving files and the database when one machine
is outgrown (see deploy/README.md, "When you outgrow one machine")."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("storage")
def storage_group() -> None:
    """The file store (STORAGE_URL): attachments, raw inbound mail, exports."""


@storage_group.command("migrate")
@click.option("--to", "target", required=True, help="The new store: file:///path or s3://bucket/prefix.")
@click.option("--verbose", is_flag=True, help="Name each file as it is copied.")
@with_appcontext
def storage_migrate(target: str, verbose: bool) -> None:
    """Copy every file from this site's store to another and check each copy. Files stay encrypted;
    run it again after an interruption (what is there already is skipped). Then set STORAGE_URL."""
    from . import storage

    try:
        source = storage.current()
        destination = storage.store_for(target)
        if str(source) == str(destination):
            raise click.ClickException("That is the store this site already uses.")
        result = storage.copy_all(source, destination, log=click.echo if verbose else None)
        missing = sorted(set(source.keys()) - set(destination.keys()))
    except (storage.StorageError, OSError) as error:
        raise click.ClickException(str(error)) from None
    if missing:
        raise click.ClickException(f"{len(missing)} files are not in {destination} (first: {missing[0][0]}/{missing[0][1]}).")
    click.echo(f"Copied {result['copied']} files to {destination} ({result['already_there']} were there already); "
               f"all {result['files']} verified.")
    click.echo(f"Now set STORAGE_URL={destination} on every host and restart Quorum. The old store is left as it was.")


@click.command("copy")
@click.option("--to", "target", required=True, help="postgresql://user:password@host/database (new and empty).")
@with_appcontext
def db_copy(target: str) -> None:
    """Copy this instance's whole database to an empty PostgreSQL database and verify every table."""
    from .dbcopy import CopyError, copy_database

    try:
        result = copy_database(target, say=click.echo)
    except CopyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Copied {result['rows']} rows in {result['tables']} tables; row counts and content hashes match.")
    click.echo("Now set DATABASE_URL to the new database on every host and restart Quorum.")


def register_db_copy() -> click.Group:
    """`copy` joins Flask-Migrate's `db` group (upgrade, current, …), so it is `quorum db copy`."""
    from flask_migrate.cli import db as migrate_group

    migrate_group.add_command(db_copy)
    return migrate_group
