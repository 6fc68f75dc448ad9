"""The `quorum` console script (also `python -m app`): a Flask CLI group around the factory."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from . import create_app


def _create_app(*_args, **_kwargs) -> Flask:
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """Quorum: group discussions and decisions, by email or in the browser."""


if __name__ == "__main__":
    main()
