"""Render one email from templates/email/<kind>/{subject.txt, body.txt, body.html}."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, render_template
from jinja2 import Environment


class Later:
    """Text a mail's context computes only when the mail is rendered, so it is written in the reader's
    language and time zone (app/email/outbox.py renders under the recipient's locale): a subject, a
    reason, a time, an option's label. Unlike flask_babel's lazy strings it is not markup, so an HTML
    template escapes it like any other text (it may hold a member's name)."""

    __slots__ = ("_make", "_args", "_kwargs")

    def __init__(self, make, *args, **kwargs):
        self._make, self._args, self._kwargs = make, args, kwargs

    def __str__(self) -> str:
        value = self._make(*self._args, **self._kwargs)
        return "" if value is None else str(value)

    def __repr__(self) -> str:
        return f"Later({str(self)!r})"

    def __eq__(self, other) -> bool:
        return str(self) == (str(other) if isinstance(other, Later) else other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __bool__(self) -> bool:
        return bool(str(self))

    def __len__(self) -> int:
        return len(str(self))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_email(kind: str, **context) -> Rendered:
    context.setdefault("base_url", current_app.config["BASE_URL"])
    subject = render_template(f"email/{kind}/subject.txt", **context)
    text = render_text(f"email/{kind}/body.txt", **context)
    html = render_template(f"email/{kind}/body.html", **context)
    text = paragraphs(text + render_text("email/_site_footer.txt", **context))  # the site's terms and privacy links
    # A subject is one line, however the template was laid out.
    return Rendered(subject=" ".join(subject.split()), text=text, html=html)


def render_text(template: str, /, **context) -> str:
    """A plain-text template, its newlines kept as written: a paragraph break in the file is one in
    the mail. (The pages' environment trims the newline after every block tag, which glued a
    greeting to the next line and one paragraph to another.) Then the layout is made regular:
    no trailing spaces, at most one blank line in a row, and one newline at the end."""
    current_app.update_template_context(context)
    text = _text_environment().get_template(template).render(context)
    return paragraphs(text)


_BLANK_RUN = re.compile(r"\n{3,}")


def paragraphs(text: str) -> str:
    """`text` with trailing spaces cut (bar the "-- " signature line), runs of blank lines made
    one, and exactly one final newline."""
    lines = [line if line == "-- " else line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"


def _text_environment() -> Environment:
    """The app's template environment (same loader, globals and filters) minus block trimming."""
    env = current_app.extensions.get("quorum_text_templates")
    if env is None:
        env = current_app.jinja_env.overlay(trim_blocks=False, lstrip_blocks=False)
        current_app.extensions["quorum_text_templates"] = env
    return env
