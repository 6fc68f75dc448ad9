"""Quorum: group discussions and decisions you can take part in by email alone."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing the package loads nothing else (gunicorn's master imports app.weblog alone)
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the app: configuration → extensions → blueprints → CLI. Nothing runs at import."""
    from flask import Flask

    from . import config as config_module

    settings = config_module.load(config)
    app = Flask(
        __name__,
        instance_path=settings["QUORUM_INSTANCE"],
        template_folder=str(config_module.PROJECT_ROOT / "templates"),
        static_folder=str(config_module.PROJECT_ROOT / "static"),
        static_url_path="/static",
    )
    app.config.update(settings)
    configure_instance_folder(app)
    configure_logging(app)
    configure_database(app)
    configure_dispatch(app)
    configure_extensions(app)
    configure_languages(app)
    configure_templates(app)
    register_blueprints(app)
    register_api(app)
    configure_pages(app)
    configure_thread_page(app)
    configure_operator_access_log(app)
    register_cli(app)
    return app


def configure_instance_folder(app: Flask) -> None:
    """The instance folder holds the database, the Redis dump, the outbox and keys: only this user
    may read it, whatever umask the process was started with (children inherit the umask)."""
    import os
    from pathlib import Path

    os.umask(0o077)  # every file this process and its children create: 0600, folders 0700
    folder = Path(app.config["QUORUM_INSTANCE"])
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)


def configure_logging(app: Flask) -> None:
    from .logs import configure

    configure(app)


def configure_database(app: Flask) -> None:
    from .db import init_app

    init_app(app)


def configure_dispatch(app: Flask) -> None:
    """Jobs for what a commit made pending are enqueued after that commit, by one hook."""
    from .dispatch import init_app

    init_app(app)


def configure_extensions(app: Flask) -> None:
    from . import queue, security
    from .auth_session import init_login
    from .extensions import csrf, limiter, migrate
    from .extensions import db

    queue.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    init_login(app)
    security.init_app(app)


def configure_languages(app: Flask) -> None:
    """Pages in the reader's language and mail in the recipient's (app/i18n.py, docs/TRANSLATING.md)."""
    from .i18n import init_app

    init_app(app)


def configure_templates(app: Flask) -> None:
    from .web.templating import init_app

    init_app(app)


def register_blueprints(app: Flask) -> None:
    from .web import register

    register(app)


def register_api(app: Flask) -> None:
    """/api/v1/: bearer tokens, JSON, problem+json, its OpenAPI document (app/api/)."""
    from .api import init_app

    init_app(app)


def configure_pages(app: Flask) -> None:
    """What every page shares: no writes on GET/HEAD, error pages, compression and ETags, input guards,
    the nav."""
    from .web import register_error_pages, register_input_guards, register_nav, register_response_helpers
    from .web import safe_methods

    safe_methods.init_app(app)
    register_error_pages(app)
    register_response_helpers(app)
    register_input_guards(app)
    register_nav(app)


def configure_thread_page(app: Flask) -> None:
    """The thread page shows the thread's polls (templates/polls/_thread_polls.html)."""
    from .services.discussions import THREAD_PAGE_SECTIONS
    from .services.polls import thread_page_polls

    app.extensions[THREAD_PAGE_SECTIONS] = [thread_page_polls]


def configure_operator_access_log(app: Flask) -> None:
    """Every view of a private group's content by a site operator is logged for its admins."""
    from .stewardship.grants import init_app

    init_app(app)


def register_cli(app: Flask) -> None:
    from .cli import register

    register(app)
