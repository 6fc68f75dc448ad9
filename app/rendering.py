"""Markdown to safe HTML: markdown-it-py renders, nh3 sanitises, links get rel=nofollow."""
from __future__ import annotations

import re
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "del", "table", "thead", "tbody", "tr", "th", "td", "span",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "span": {"class"}}
MENTION = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9._-]{0,63})", re.IGNORECASE)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "js-default" disables raw HTML; linkify is off so plain text never grows surprise links.
    return MarkdownIt("js-default", {"breaks": True}).enable("table").enable("strikethrough")


@lru_cache(maxsize=4096)
def markdown_to_html(text: str) -> str:
    """Sanitised HTML for a markdown text; cached, since a thread page renders the same texts often."""
    html = _parser().render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


def render_markdown(text: str) -> Markup:
    return Markup(markdown_to_html(text))


def mentioned_handles(text: str) -> set[str]:
    """The @names in a text (lower-cased), without the @."""
    return {m.group(1).lower().rstrip("._-") for m in MENTION.finditer(text or "")}


def excerpt(text: str, length: int = 200) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"
