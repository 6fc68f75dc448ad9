"""Turn an HTML-only email into readable plain text.

Quoted parts (``<blockquote>``, Gmail's ``gmail_quote``, Outlook's reply
header and everything after it) come out as ``> `` lines, and signatures
(``gmail_signature``, ``moz-signature``) after a ``-- `` line, so that
:func:`mail.trimming.trim_reply` can remove them like in a plain-text reply.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

# Contents never shown to a reader.
_INVISIBLE = {"head", "style", "script", "title", "template", "noscript", "xml"}
# Elements that start a new line, and those that also leave a blank line around them.
_LINE_BLOCKS = {"div", "li", "tr", "dt", "dd", "section", "article", "header", "footer",
                "nav", "aside", "main", "figure", "figcaption", "address", "center", "form",
                "table", "tbody", "thead", "tfoot", "caption", "dl"}
_PARAGRAPH_BLOCKS = {"p", "blockquote", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source",
         "embed", "param", "track"}

# Containers whose content is a quote of an earlier message.
_QUOTE_CLASSES = {"gmail_quote", "yahoo_quoted", "messageReplySection", "moz-forward-container",
                  "protonmail_quote", "zmail_extra"}
# Outlook (web and new desktop) put the quoted mail *after* these, not inside.
_QUOTE_REST_IDS = {"divRplyFwdMsg", "appendonsend", "divRplyFwdMsgs"}
_SIGNATURE_CLASSES = {"gmail_signature", "moz-signature", "protonmail_signature_block"}
# Outlook for iOS/Android and Samsung Email mark their sign-off block by id.
_SIGNATURE_IDS = {"ms-outlook-mobile-signature", "composer_signature", "AppleMailSignature"}
# Outlook and Windows Mail paragraphs have no margins: each is one line, an empty one a blank line.
_SOFT_PARAGRAPH_CLASSES = {"MsoNormal", "MsoPlainText", "MsoListParagraph"}
# The rule Outlook desktop and Windows Mail draw above the quoted mail's header block
# (`border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm`): everything after it is the quote, when
# the sender wrote something above it (with nothing above, the mail is a forward: it is the content).
_REPLY_HEADER_RULE = re.compile(r"border-top(?:-style)?\s*:[^;]*\bsolid\b.*\bpadding|padding.*\bborder-top(?:-style)?\s*:[^;]*\bsolid\b",
                                re.IGNORECASE | re.DOTALL)

_WHITESPACE = re.compile(r"[ \t\n\r\f\v\u00a0\u200b]+")


class _Element:
    """What an open element changed, to undo it at its end tag."""

    __slots__ = ("tag", "quote", "invisible", "list_kind", "items", "pre", "link", "soft", "written")

    def __init__(self, tag: str):
        self.tag = tag
        self.quote = False
        self.invisible = False
        self.list_kind: str | None = None
        self.items = 0  # <li> seen so far, for numbering an <ol>
        self.pre = False
        self.link: str | None = None
        self.soft = False  # a paragraph shown without margins (Outlook's MsoNormal): one line
        self.written = 0  # how much text the document held when it opened


class _TextBuilder:
    """Lines of text, each with a quote depth, with browser-like line breaking."""

    def __init__(self) -> None:
        self.lines: list[tuple[int, str]] = []
        self.current = ""
        self.current_depth = 0
        self.pending = 0  # 1: the next text starts a line, 2: after a blank line

    def block(self, strength: int) -> None:
        self.pending = max(self.pending, strength)

    def write(self, text: str, depth: int, *, raw: bool = False) -> None:
        """Append text; unless ``raw``, spaces at the start of a line are dropped."""
        if not text:
            return
        if self.current and self.pending:
            self._flush()
        if not self.current:
            if not raw:
                text = text.lstrip(" ")
                if not text:
                    return
            if self.pending == 2 and self.lines and self.lines[-1][1]:
                self._blank(depth)
            self.current_depth = depth
        self.pending = 0
        self.current += text

    def line_break(self, depth: int) -> None:
        """A ``<br>``: end the current line, or add an empty one at a line start."""
        if self.current and not self.pending:
            self._flush()
            return
        if self.current:
            self._flush()
        self.lines.append((depth, ""))
        self.pending = 0

    def newline(self, depth: int) -> None:
        """End the current line, even an empty one (preformatted text)."""
        if self.current:
            self._flush()
        else:
            self.lines.append((depth, ""))
        self.pending = 0

    def has_text(self) -> bool:
        """Whether anything but blank lines has been written (a reply above a quoted header)."""
        return bool(self.current.strip()) or any(line for _, line in self.lines)

    def size(self) -> int:
        """How much has been written so far (lines and the line being written)."""
        return len(self.lines) + bool(self.current)

    def text(self) -> str:
        if self.current:
            self._flush()
        rendered = [(">" * depth + " " + line) if depth and line else ">" * depth + line
                    for depth, line in self.lines]
        text = "\n".join(line.rstrip() for line in rendered)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")

    def _flush(self) -> None:
        self.lines.append((self.current_depth, self.current.rstrip()))
        self.current = ""

    def _blank(self, depth: int) -> None:
        self.lines.append((min(depth, self.lines[-1][0]), ""))


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = _TextBuilder()
        self.stack: list[_Element] = []
        self.quote_rest = 0  # quote everything from here on (Outlook)
        self.link_text: list[str] | None = None

    # --- state derived from the open elements
    @property
    def depth(self) -> int:
        return self.quote_rest + sum(e.quote for e in self.stack)

    @property
    def invisible(self) -> bool:
        return any(e.invisible for e in self.stack)

    @property
    def in_pre(self) -> bool:
        return any(e.pre for e in self.stack)

    def _lists(self) -> list[_Element]:
        return [e for e in self.stack if e.list_kind]

    # --- parser callbacks
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        classes = set(attributes.get("class", "").split())
        if tag == "li" and self.stack and self.stack[-1].tag == "li":
            self._close("li")  # an unclosed <li> ends at the next one
        if tag == "p" and self.stack and self.stack[-1].tag == "p":
            self._close("p")
        if tag == "body":
            self._close("head")  # browsers end an unclosed <head> here; so do we
        if attributes.get("id") in _QUOTE_REST_IDS or (
                tag == "div" and not self.quote_rest and self.out.has_text()
                and _REPLY_HEADER_RULE.search(attributes.get("style", ""))):
            self.out.block(2)
            self.quote_rest = 1
        if (classes & _SIGNATURE_CLASSES or attributes.get("id") in _SIGNATURE_IDS) and not self.invisible:
            self.out.block(2)
            self.out.write("-- ", self.depth)
            self.out.block(1)

        if tag == "br":
            if not self.invisible:
                self.out.line_break(self.depth)
            return
        if tag == "hr":
            self.out.block(2)
            return
        if tag in _VOID:
            return

        element = _Element(tag)
        element.invisible = tag in _INVISIBLE
        element.quote = tag == "blockquote" or bool(classes & _QUOTE_CLASSES)
        element.pre = tag == "pre"
        if tag in ("ul", "ol", "menu"):
            element.list_kind = tag
        element.soft = tag == "p" and bool(classes & _SOFT_PARAGRAPH_CLASSES)
        element.written = self.out.size()
        if tag == "a":
            element.link = attributes.get("href", "").strip()
            if self.link_text is None:
                self.link_text = []
        nested_list = bool(element.list_kind and self._lists())
        self.stack.append(element)

        if nested_list:
            self.out.block(1)
        elif element.soft or (tag in _LINE_BLOCKS and not element.quote):
            self.out.block(1)
        elif tag in _PARAGRAPH_BLOCKS or element.quote:
            self.out.block(2)
        if tag == "li":
            self._write_raw(self._list_marker())
        elif tag in ("td", "th") and self.out.current and not self.out.pending:
            self._write_raw(" | ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        was_nested_list = tag in ("ul", "ol", "menu") and len(self._lists()) > 1
        closing = next((e for e in reversed(self.stack) if e.tag == tag), None)
        self._close(tag)
        if closing is not None and closing.soft:
            # "<p class=MsoNormal>&nbsp;</p>" is how Outlook writes a blank line.
            self.out.block(2 if self.out.size() == closing.written else 1)
        elif tag in _LINE_BLOCKS or was_nested_list:
            self.out.block(1)
        elif tag in _PARAGRAPH_BLOCKS:
            self.out.block(2)

    def handle_data(self, data: str) -> None:
        if self.invisible:
            return
        if self.link_text is not None:
            self.link_text.append(data)
            return
        if self.in_pre:
            for i, segment in enumerate(data.split("\n")):
                if i:
                    self.out.newline(self.depth)
                self._write_raw(segment)
            return
        self.out.write(_WHITESPACE.sub(" ", data), self.depth)

    def close_all(self) -> None:
        """End every element left open (unclosed tags, truncated mail)."""
        if self.stack:
            self._close(self.stack[0].tag)

    # --- helpers
    def _close(self, tag: str) -> None:
        """Close the innermost open ``tag`` and anything left open inside it."""
        if not any(e.tag == tag for e in self.stack):
            return  # a stray end tag
        while self.stack:
            element = self.stack.pop()
            if element.quote or (element.list_kind and not self._lists()):
                self.out.block(2)
            if element.link is not None:
                self._finish_link(element.link)
            if element.tag == tag:
                return

    def _finish_link(self, href: str) -> None:
        if any(e.link is not None for e in self.stack):
            return  # a nested link: the outer one writes the text
        label = _WHITESPACE.sub(" ", "".join(self.link_text or [])).strip()
        self.link_text = None
        self.out.write(_link_text(label, href), self.depth)

    def _list_marker(self) -> str:
        lists = self._lists()
        if not lists:
            return "- "
        indent = "  " * (len(lists) - 1)
        lists[-1].items += 1
        if lists[-1].list_kind != "ol":
            return indent + "- "
        return f"{indent}{lists[-1].items}. "

    def _write_raw(self, text: str) -> None:
        """Write text whose spaces matter (list markers, preformatted text)."""
        if not self.invisible:
            self.out.write(text, self.depth, raw=True)


def _link_text(label: str, href: str) -> str:
    """``label (url)`` unless the url adds nothing (same text, mailto, anchors)."""
    if not href or href.startswith(("#", "javascript:", "cid:")):
        return label
    target = href[len("mailto:"):] if href.lower().startswith("mailto:") else href
    if not label:
        return target
    comparable = {target, target.rstrip("/"), re.sub(r"^https?://", "", target).rstrip("/")}
    if label in comparable or label.rstrip("/") in comparable or href.lower().startswith("mailto:"):
        return label
    return f"{label} ({href})"


def html_to_text(html: str) -> str:
    """Render ``html`` as plain text with quotes as ``>`` lines."""
    converter = _Converter()
    try:
        converter.feed(html)
        converter.close()
    except Exception:  # noqa: BLE001 - html.parser can choke on hostile markup; keep what we have
        pass
    converter.close_all()
    return converter.out.text()
