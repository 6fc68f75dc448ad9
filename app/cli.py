"""The `quorum` command's subcommands, attached to the app's CLI by the factory
(the console script itself is `app/__main__.py`)."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .i18n import _
from .models.groups import PRIVACIES


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI (so `flask --app wsgi` has them too)."""
    for command in (serve, web, background, smtp, worker, scheduler, demo, login_link, user_group, group_group):
        app.cli.add_command(command)
    _register_optional(app)
    app.cli.add_command(db_group)


class MigrationCommands(click.Group):
    """`quorum db …`: Flask-Migrate's commands (upgrade, current, …) and `quorum db copy`
    (app/scale_cli.py), loaded only once the command line asks for one: Alembic stays out of
    every process that only serves (app/extensions.py, Migrations)."""

    def _group(self) -> click.Group:
        import importlib

        return importlib.import_module("app.scale_cli").register_db_copy()

    def list_commands(self, ctx) -> list[str]:
        return self._group().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._group().get_command(ctx, name)


@click.group("db", cls=MigrationCommands)
@click.option("-d", "--directory", default=None, help='Migration script directory (default is "migrations")')
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments consumed by custom env.py scripts")
@with_appcontext
def db_group(directory, x_arg) -> None:
    """Perform database migrations."""
    from flask import g

    g.directory = directory  # as Flask-Migrate's own group does: its commands read them
    g.x_arg = x_arg


def _register_optional(app: Flask) -> None:
    """Command groups that live next to the code they drive."""
    import importlib

    for module_name, attr in EXTRA_COMMANDS:
        module = importlib.import_module(module_name, __package__)
        app.cli.add_command(getattr(module, attr))


# (module, attribute) of further click commands, added by later areas.
EXTRA_COMMANDS: list[tuple[str, str]] = [
    ("app.stewardship_cli", "export_group"),
    ("app.stewardship_cli", "import_command"),
    ("app.stewardship_cli", "backup_group"),
    ("app.stewardship_cli", "keys_group"),
    ("mail.cli", "mail_group"),
    ("app.digest_cli", "digest_group"),
    ("app.scale_cli", "storage_group"),
]


@click.command()
@with_appcontext
def serve() -> None:
    """Run everything from one foreground command: the web app, and SMTP, worker and scheduler in one process."""
    from .supervisor import run_all

    sys.exit(run_all(current_app))


@click.command()
@with_appcontext
def web() -> None:
    """Run the web app under gunicorn on WEB_LISTEN."""
    import os

    from .embedded_redis import owns_any
    from .queue import stop_embedded_redis
    from .supervisor import gunicorn_args

    # With no REDIS_URL, gunicorn's master starts and owns the embedded Redis: it must load the app.
    preload = owns_any()
    stop_embedded_redis()
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", *gunicorn_args(current_app.config, preload=preload)])


@click.command()
@with_appcontext
def smtp() -> None:
    """Run the inbound SMTP server on SMTP_LISTEN."""
    from mail.server import run_forever

    # Mail is acknowledged with 250 only once it is on disk: make SQLite commits survive power loss too.
    current_app.config["SQLITE_SYNCHRONOUS"] = "FULL"
    run_forever(current_app._get_current_object())


@click.command()
@click.option("--burst", is_flag=True, help="Work until the queue is empty, then exit.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run an RQ worker for Quorum's jobs."""
    from .worker import run

    run(current_app._get_current_object(), burst=burst)


@click.command()
@with_appcontext
def scheduler() -> None:
    """Run the periodic jobs (auto-close polls, digests, sweeps) with RQ's cron scheduler."""
    from .heartbeat import start_beating
    from .queue import redis_client
    from .schedule import run

    app = current_app._get_current_object()
    start_beating(redis_client(app), "scheduler")
    run(app)


@click.command()
@with_appcontext
def background() -> None:
    """Run the SMTP server, a worker and the scheduler in one process (what `quorum serve` runs)."""
    from .background import run

    sys.exit(run(current_app._get_current_object()))


@click.command()
@click.option("--force", is_flag=True, help="Seed even if the instance already has data.")
@with_appcontext
def demo(force: bool) -> None:
    """Fill the instance with a realistic demo organisation and print a sign-in link."""
    from .demo import seed_demo

    result = seed_demo(force=force)
    if result is None:
        click.echo(_("The instance already has data; nothing seeded (use --force)."))
        return
    click.echo(_("Demo organisation ready: %(groups)s groups, %(members)s members.", groups=result["groups"],
                 members=result["members"]))
    click.echo(_("Sign in as the demo admin (%(email)s): %(link)s", email=result["admin_email"], link=result["link"]))


@click.command("login-link")
@click.argument("email")
@with_appcontext
def login_link(email: str) -> None:
    """Print a fresh one-time sign-in link for the account with EMAIL (valid 10 minutes)."""
    from .services.accounts import SIGN_IN_LIFETIME, issue_sign_in_link, user_by_email

    user = user_by_email(email)
    if user is None:
        raise click.ClickException(
            _("No account has the address %(email)s. Create one with: quorum user create %(email)s --name NAME",
              email=email.strip()))
    minutes = int(SIGN_IN_LIFETIME.total_seconds() // 60)
    click.echo(_("One-time sign-in link for %(email)s (valid %(minutes)s minutes):", email=user.email, minutes=minutes))
    click.echo(issue_sign_in_link(email=user.email))


@click.group("user")
def user_group() -> None:
    """Manage accounts."""


@user_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--site-admin", is_flag=True, help="Make this person a site operator.")
@with_appcontext
def user_create(email: str, name: str, site_admin: bool) -> None:
    from .extensions import db
    from .services.accounts import create_user
    from .services.errors import DomainError

    try:
        user = create_user(email=email, name=name, verified=True)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    user.is_site_admin = site_admin
    db.session.commit()
    click.echo(_("Created user %(id)s <%(email)s>", id=user.id, email=user.email))


@click.group("group")
def group_group() -> None:
    """Manage groups."""


@group_group.command("create")
@click.argument("name")
@click.option("--handle", required=True, help="Short name; also the group's email address.")
@click.option("--admin", "admin_email", required=True, help="Email of the first admin (created if new).")
@click.option("--privacy", type=click.Choice(PRIVACIES), default="closed")
@with_appcontext
def group_create(name: str, handle: str, admin_email: str, privacy: str) -> None:
    from .services.accounts import create_user, user_by_email
    from .services.errors import DomainError
    from .services.groups import create_group

    try:
        admin = user_by_email(admin_email) or create_user(email=admin_email, verified=True)
        group = create_group(actor_id=admin.id, name=name, handle=handle, privacy=privacy)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(_("Created group %(handle)s (%(privacy)s); admin <%(email)s>", handle=group.handle, privacy=group.privacy,
                 email=admin.email))


@group_group.command("add-member")
@click.argument("handle")
@click.argument("email")
@click.option("--admin", "as_admin", is_flag=True, help="Add as an admin.")
@with_appcontext
def group_add_member(handle: str, email: str, as_admin: bool) -> None:
    from .services.accounts import create_user, user_by_email
    from .services.errors import DomainError
    from .services.groups import add_member, group_by_handle

    try:
        group = group_by_handle(handle)
        user = user_by_email(email) or create_user(email=email, verified=True)
        add_member(group_id=group.id, user_id=user.id, role="admin" if as_admin else "member")
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(_("Added <%(email)s> to %(handle)s", email=user.email, handle=group.handle))
