"""The instance's branding: site name, accent colour, a small logo, terms and privacy links.

A site admin sets them on /admin/branding (stored in `site_branding`, one row); an empty value
falls back to the environment's default (SITE_NAME, SITE_ACCENT_COLOUR, SITE_TERMS_URL,
SITE_PRIVACY_URL). Pages read them once per request; mail footers carry the two links.

The logo is a PNG of at most 20 KB, kept raster-only: it is parsed chunk by chunk (every CRC
checked) and only the image's own chunks are kept, so no text, metadata or script travels with it.
It is served from a URL naming its ETag, cached for a year.
"""
from __future__ import annotations

import hashlib
import re
import struct
import time
import zlib
from dataclasses import dataclass

from flask import current_app, g, has_request_context
from sqlalchemy import select

from ..extensions import db
from ..models import SiteBranding, utcnow
from . import audit
from .errors import Invalid, NotAllowed
from ..i18n import _, number

LOGO_MAX_BYTES = 20 * 1024
LOGO_MAX_SIDE = 512
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEPT_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"gAMA", b"sRGB"}
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
CACHE_KEY = "_site_branding"


@dataclass(frozen=True)
class Branding:
    site_name: str
    accent_colour: str
    terms_url: str
    privacy_url: str
    logo_etag: str | None

    @property
    def logo_url(self) -> str | None:
        return f"/branding/logo-{self.logo_etag}.png" if self.logo_etag else None


def _row() -> SiteBranding | None:
    return db.session.get(SiteBranding, 1)


# Outside a request (jobs sending mail, a digest batch of hundreds) the branding is read at most once
# every BRANDING_TTL_SECONDS per process, not once per mail; a change shows in mail within that time.
BRANDING_TTL_SECONDS = 30.0
_job_cache: dict = {}


def current() -> Branding:
    """What pages and mail show now (once per request; in jobs, once per BRANDING_TTL_SECONDS)."""
    if has_request_context() and CACHE_KEY in g:
        return g.get(CACHE_KEY)
    if not has_request_context():
        cached = _job_cache.get(current_app.name)
        if cached is not None and cached[0] > time.monotonic() and cached[2] is current_app._get_current_object():
            return cached[1]
    config = current_app.config
    row = _row()

    def pick(value, key):
        return (value or "").strip() or (config.get(key) or "")

    branding = Branding(
        site_name=pick(row.site_name if row else "", "SITE_NAME") or "Quorum",
        accent_colour=_colour(pick(row.accent_colour if row else "", "SITE_ACCENT_COLOUR")),
        terms_url=_safe_url(pick(row.terms_url if row else "", "SITE_TERMS_URL")),
        privacy_url=_safe_url(pick(row.privacy_url if row else "", "SITE_PRIVACY_URL")),
        logo_etag=row.logo_etag if row is not None and row.logo else None,
    )
    if has_request_context():
        setattr(g, CACHE_KEY, branding)
    else:
        _job_cache[current_app.name] = (time.monotonic() + BRANDING_TTL_SECONDS, branding, current_app._get_current_object())
    return branding


def _colour(value: str) -> str:
    return value.lower() if COLOUR_RE.match(value or "") else ""


def _safe_url(value: str) -> str:
    return value if value.startswith(("https://", "http://")) and not any(c in value for c in '"<> ') else ""


def logo() -> tuple[bytes, str] | None:
    row = _row()
    return (row.logo, row.logo_etag) if row is not None and row.logo else None


def clean_png(data: bytes) -> bytes:
    """The PNG with only its image chunks, or Invalid: not a PNG, damaged, too big."""
    if not data:
        raise Invalid(_("Choose a PNG file."), field="logo")
    if len(data) > LOGO_MAX_BYTES:
        raise Invalid(_("The logo is %(size)s bytes; the limit is %(limit)s (20 KB).", size=number(len(data)),
                        limit=number(LOGO_MAX_BYTES)), field="logo")
    if not data.startswith(PNG_SIGNATURE):
        raise Invalid(_("The logo must be a PNG image (SVG and other formats are not accepted)."), field="logo")
    out, pos, seen = [PNG_SIGNATURE], len(PNG_SIGNATURE), []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if end > len(data):
            break
        body, crc = data[pos + 8:pos + 8 + length], data[pos + 8 + length:end]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != struct.unpack(">I", crc)[0]:
            raise Invalid(_("The PNG file is damaged (a checksum does not match)."), field="logo")
        seen.append(kind)
        if kind in KEPT_CHUNKS:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            break
    if not seen or seen[0] != b"IHDR" or seen[-1] != b"IEND" or b"IDAT" not in seen:
        raise Invalid(_("The PNG file is incomplete."), field="logo")
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= LOGO_MAX_SIDE and 0 < height <= LOGO_MAX_SIDE):
        raise Invalid(_("The logo is %(width)s×%(height)s pixels; keep it within %(max)s×%(max)s.", width=width,
                        height=height, max=LOGO_MAX_SIDE), field="logo")
    return b"".join(out)


def update(actor, *, site_name: str, accent_colour: str, terms_url: str, privacy_url: str,
           logo: bytes | None = None, remove_logo: bool = False) -> SiteBranding:
    """Save what a site admin set; empty fields use the environment's defaults."""
    from .. import policy

    if not policy.can_manage_people(actor):
        raise NotAllowed(_("Only site admins can change the site's branding."))
    site_name = " ".join((site_name or "").split())
    if len(site_name) > 60:
        raise Invalid(_("Keep the site name under %(limit)s characters.", limit=60), field="site_name")
    accent_colour = (accent_colour or "").strip()
    if accent_colour and not COLOUR_RE.match(accent_colour):
        raise Invalid(_("Give the colour as # and six hex digits, like #1d4ed8."), field="accent_colour")
    urls = {}
    for field, value in (("terms_url", terms_url), ("privacy_url", privacy_url)):
        value = (value or "").strip()
        if value and (len(value) > 500 or not _safe_url(value)):
            raise Invalid(_("Give a full web address starting with https://."), field=field)
        urls[field] = value
    cleaned = clean_png(logo) if logo else None
    row = _row()
    if row is None:
        row = SiteBranding(id=1)
        db.session.add(row)
    row.site_name, row.accent_colour = site_name, accent_colour.lower()
    row.terms_url, row.privacy_url = urls["terms_url"], urls["privacy_url"]
    if cleaned is not None:
        row.logo, row.logo_etag = cleaned, hashlib.sha256(cleaned).hexdigest()[:32]
    elif remove_logo:
        row.logo, row.logo_etag = None, None
    row.updated_at, row.updated_by_id = utcnow(), actor.id
    audit.record(actor.id, None, "branding_changed", site_name=site_name, accent_colour=accent_colour,
                 terms_url=urls["terms_url"], privacy_url=urls["privacy_url"],
                 logo="new" if cleaned is not None else ("removed" if remove_logo else "unchanged"))
    db.session.commit()
    if has_request_context():
        g.pop(CACHE_KEY, None)
    forget()
    return row


def forget() -> None:
    """Drop what jobs in this process remember of the branding (a change, or a test's fresh database)."""
    _job_cache.clear()


def stored_settings() -> SiteBranding | None:
    return db.session.scalar(select(SiteBranding).where(SiteBranding.id == 1))
