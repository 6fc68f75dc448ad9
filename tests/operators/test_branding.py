"""Branding: site name, accent colour, logo (a cleaned PNG, cached), terms and privacy links on pages
and in mail footers, within the page-weight budget."""
from __future__ import annotations

import io
import struct
import zlib

from sqlalchemy import select

from app.email import messages
from app.extensions import db
from app.models import AuditLog
from tests.helpers import post, sign_in


def png(width: int = 2, height: int = 2, *, extra: bytes = b"") -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + (chunk(b"tEXt", extra) if extra else b"") + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def save(client, **fields):
    data = {"site_name": "", "accent_colour": "", "terms_url": "", "privacy_url": "", **fields}
    return post(client, "/admin/branding", data, content_type="multipart/form-data")


def test_defaults_come_from_the_environment(client, config):
    config["SITE_NAME"] = "Riverside Commons"
    config["SITE_TERMS_URL"] = "https://example.org/terms"
    page = client.get("/login").get_data(as_text=True)
    assert "· Riverside Commons</title>" in page and '<a href="https://example.org/terms">Terms</a>' in page
    assert "Privacy</a>" not in page


def test_a_site_admin_sets_the_branding_and_every_page_and_mail_shows_it(client, site_admin, outbox):
    sign_in(client, site_admin)
    assert save(client, site_name="Riverside Commons", accent_colour="#AA3300",
                terms_url="https://example.org/terms", privacy_url="https://example.org/privacy").status_code == 303
    page = client.get("/account").get_data(as_text=True)
    assert "Riverside Commons</a>" in page and ":root{--accent:#aa3300}" in page
    assert 'href="https://example.org/privacy">Privacy</a>' in page
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "branding_changed")).actor_id == site_admin.id

    messages.address_proof(proof_id=1, to="new@example.org", user=site_admin, purpose="alias",
                           link="http://localhost/x", hours=24)
    db.session.commit()
    mail = outbox.last_to("new@example.org")
    assert "Terms: https://example.org/terms" in mail.text and "Privacy: https://example.org/privacy" in mail.text
    assert 'href="https://example.org/terms"' in mail.html and 'href="https://example.org/privacy"' in mail.html


def test_bad_branding_input_is_a_form_error(client, site_admin):
    sign_in(client, site_admin)
    for fields, message in (({"accent_colour": "red"}, "six hex digits"),
                            ({"terms_url": "javascript:alert(1)"}, "https://"),
                            ({"site_name": "x" * 61}, "under 60")):
        response = save(client, **fields)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    svg = save(client, logo=(io.BytesIO(b"<svg onload='alert(1)'/>"), "logo.svg"))
    assert svg.status_code == 422 and "must be a PNG" in svg.get_data(as_text=True)
    big = save(client, logo=(io.BytesIO(png(extra=b"x" * 21000)), "logo.png"))
    assert big.status_code == 422 and "20 KB" in big.get_data(as_text=True)
    damaged = bytearray(png())
    damaged[40] ^= 0xFF
    bad = save(client, logo=(io.BytesIO(bytes(damaged)), "logo.png"))
    assert bad.status_code == 422 and "damaged" in bad.get_data(as_text=True)


def test_the_logo_is_cleaned_and_served_with_long_caching(client, site_admin):
    sign_in(client, site_admin)
    assert save(client, logo=(io.BytesIO(png(extra=b"Comment\x00<script>alert(1)</script>")), "logo.png")
                ).status_code == 303
    page = client.get("/").get_data(as_text=True)
    start = page.index('src="/branding/logo-') + 5
    url = page[start:page.index('"', start)]
    logo = client.get(url)
    assert logo.status_code == 200 and logo.mimetype == "image/png"
    assert logo.data.startswith(b"\x89PNG") and b"tEXt" not in logo.data and b"script" not in logo.data
    assert "immutable" in logo.headers["Cache-Control"] and "max-age=31536000" in logo.headers["Cache-Control"]
    again = client.get(url, headers={"If-None-Match": logo.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/branding/logo-0000.png").status_code == 404
    assert save(client, remove_logo="1").status_code == 303
    assert client.get(url).status_code == 404


def test_members_cannot_change_the_branding(client, garden):
    sign_in(client, garden.ada)
    assert client.get("/admin/branding").status_code == 404
    assert save(client, site_name="Mine").status_code == 404


def test_the_first_visit_with_branding_fits_the_budget(client, site_admin):
    from tests.web.test_page_weight import FIRST_VISIT_BUDGET, _wire_size

    sign_in(client, site_admin)
    save(client, site_name="Riverside Commons", accent_colour="#aa3300", terms_url="https://example.org/terms",
         privacy_url="https://example.org/privacy", logo=(io.BytesIO(png(64, 64)), "logo.png"))
    anonymous = client.application.test_client()
    page = anonymous.get("/login", headers={"Accept-Encoding": "gzip"})
    html = page.get_data() if page.headers.get("Content-Encoding") != "gzip" else zlib.decompress(page.data, 31)
    import re

    assets = re.findall(rb'<(?:link[^>]+href|script[^>]+src|img[^>]+src)="(/[^"]+)"', html)
    sizes = [_wire_size(page)] + [_wire_size(anonymous.get(a.decode(), headers={"Accept-Encoding": "gzip"}))
                                  for a in assets]
    assert any(b"/branding/logo-" in a for a in assets)
    assert sum(sizes) <= FIRST_VISIT_BUDGET
