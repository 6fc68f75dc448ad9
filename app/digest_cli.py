"""`quorum digest …`: build and send daily and weekly digests from the command line."""
from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("digest")
def digest_group() -> None:
    """Daily and weekly digests."""


@digest_group.command("run")
@click.option("--now", "ignore_hour", is_flag=True,
              help="Ignore members' chosen hour and weekday: send this period's digest now (never twice).")
@click.option("--member", "member_email", default=None, help="Only this member (their email address).")
@with_appcontext
def run(ignore_hour: bool, member_email: str | None) -> None:
    """Build and send the digests that are due (the scheduler does this every few minutes)."""
    from .services.digests import run_due
    from .services.errors import DomainError

    try:
        totals = run_due(ignore_hour=ignore_hour, member_email=member_email)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Digests due: {totals['due']}; sent: {totals['sent']}; nothing new: {totals['empty']}; "
               f"already done elsewhere: {totals['skipped']}.")
