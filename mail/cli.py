"""`quorum mail …`: run the inbound pipeline on a file, for operators and debugging."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext


@click.group("mail")
def mail_group() -> None:
    """Inbound mail."""


@mail_group.command("ingest")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Decide and report, but write and send nothing.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"class", "action", "reason", "body", "cuts", …} as JSON ("cuts": which rule cut the reply where).')
@click.option("--from", "envelope_from", default=None, help="Envelope sender (default: the Return-Path header).")
@click.option("--to", "recipients", multiple=True, help="Envelope recipient (default: Delivered-To/To/Cc).")
@with_appcontext
def ingest(path: str, dry_run: bool, as_json: bool, envelope_from: str | None, recipients: tuple[str, ...]) -> None:
    """Run one message (a .eml file, or - for stdin) through the inbound pipeline."""
    from flask import current_app

    from .classify import header, parse_bytes, sender_address
    from .mime import header_recipients
    from .pipeline import Outcome, process
    from .processing import process_stored
    from .store import accept

    raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    msg = parse_bytes(raw)
    if envelope_from is None:  # a file has no envelope: Return-Path, else the From address
        return_path = header(msg, "Return-Path").strip()
        envelope_from = return_path.strip("<>") if return_path else (sender_address(msg) or "")
    rcpts = list(recipients) or header_recipients(msg)
    if dry_run:
        outcome: Outcome = process(raw, envelope_from=envelope_from, recipients=rcpts, dry_run=True)
        status = outcome.status
    else:
        row = accept(raw, envelope_from=envelope_from, recipients=rcpts, peer=None, helo="localhost",
                     domain=current_app.config["MAIL_DOMAIN"])
        # The same path as mail that arrived by SMTP, so the result is stored and idempotent.
        from app.extensions import db
        from app.models import InboundMessage

        process_stored(row.id)
        stored = db.session.get(InboundMessage, row.id)
        db.session.refresh(stored)
        outcome = process(raw, envelope_from=envelope_from, recipients=rcpts, dry_run=True)
        outcome.status, outcome.action, outcome.reason = stored.status, stored.action or "", stored.reason or ""
        status = stored.status
    if not outcome.body and outcome.classification:
        # The pipeline reads no text it will not act on; an operator debugging a file still sees it.
        from .mime import extract_reply

        outcome.body = extract_reply(msg)[0]
    if as_json:
        from dataclasses import asdict

        from .mime import reply_text
        from .trimming import explain_trim

        data = outcome.as_json()
        # Line numbers count in the text the trimmer read: the text part, or the HTML as text.
        cuts = [asdict(cut) for cut in explain_trim(reply_text(msg)[0])]
        click.echo(json.dumps({"class": data.pop("class"), "action": data.pop("action"),
                               "reason": data.pop("reason"), "body": data.pop("body"), "cuts": cuts, **data},
                              ensure_ascii=False, indent=2))
    else:
        click.echo(f"{status}: {outcome.classification} → {outcome.action}: {outcome.reason}")
        if outcome.body:
            click.echo("--- extracted reply ---")
            click.echo(outcome.body)
            from .mime import reply_text
            from .trimming import explain_trim

            for cut in explain_trim(reply_text(msg)[0]):
                click.echo(f"--- cut at line {cut.line} ({cut.rule}): {cut.text}")
