"""Render one email from templates/email/<kind>/{subject.txt, body.txt, body.html}."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render_email(kind: str, **context) -> Rendered:
    context.setdefault("base_url", current_app.config["BASE_URL"])
    subject = render_template(f"email/{kind}/subject.txt", **context)
    text = render_template(f"email/{kind}/body.txt", **context)
    html = render_template(f"email/{kind}/body.html", **context)
    # A subject is one line, however the template was laid out.
    return Rendered(subject=" ".join(subject.split()), text=text.strip() + "\n", html=html)
