"""Two-factor sign-in: TOTP after the emailed code, single-use recovery codes, required for admins."""
from __future__ import annotations

import re
import time

import pyotp

from app.extensions import db
from app.models import User
from tests.helpers import post, sign_in


def next_code(secret: str) -> str:
    """The code of the next time step (accepted for clock drift): the current one was used to turn it on."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def turn_on(client, user) -> tuple[str, list[str]]:
    sign_in(client, user)
    assert "<svg" not in client.get("/account/2fa").text, "no key before the member asks to set up"
    assert post(client, "/account/2fa/setup").status_code == 303
    page = client.get("/account/2fa")
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page.text).group(1)
    assert re.search(r"<div class=\"qr\"><svg[^>]*>", page.text), "a server-drawn SVG QR code beside the key"
    wrong = post(client, "/account/2fa", {"code": "000000"})
    assert wrong.status_code == 422 and "does not match" in wrong.text
    response = post(client, "/account/2fa", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", response.text)
    assert len(codes) == 10
    return secret, codes


def sign_in_by_code(client, outbox, email: str):
    post(client, "/login", {"email": email})
    code = re.search(r"\b(\d{6})\b", outbox.last_to(email).subject).group(1)
    return post(client, "/login/code", {"email": email, "code": code})


def test_totp_sign_in_and_single_use_recovery_codes(rich_group, client, outbox, clean_app):
    bea = rich_group["bea"]
    secret, codes = turn_on(client, bea)
    assert db.session.get(User, bea.id).totp_secret and secret not in db.session.get(User, bea.id).totp_secret

    fresh = clean_app.test_client()
    response = sign_in_by_code(fresh, outbox, "bea@example.org")
    assert response.headers["Location"] == "/login/2fa"
    assert fresh.get("/account").status_code in (302, 303), "not signed in before the second factor"
    bad = post(fresh, "/login/2fa", {"code": "123456"})
    assert bad.status_code == 422 and "not right" in bad.text
    ok = post(fresh, "/login/2fa", {"code": next_code(secret)})
    assert ok.status_code == 303 and fresh.get("/account").status_code == 200

    again = clean_app.test_client()
    sign_in_by_code(again, outbox, "bea@example.org")
    assert post(again, "/login/2fa", {"code": codes[0].upper()}).status_code == 303
    third = clean_app.test_client()
    sign_in_by_code(third, outbox, "bea@example.org")
    assert post(third, "/login/2fa", {"code": codes[0]}).status_code == 422, "a recovery code works once"


def test_group_admins_can_require_two_factor_for_admins(rich_group, client):
    admin = rich_group["admin"]
    sign_in(client, admin)
    refused = post(client, "/g/allotments/require-2fa", {"required": "1"})
    assert refused.status_code == 303
    assert "Turn on two-factor sign-in for yourself first" in client.get("/g/allotments/support").text
    turn_on(client, admin)
    post(client, "/g/allotments/require-2fa", {"required": "1"})
    db.session.expire_all()
    assert db.session.get(type(rich_group["group"]), rich_group["group"].id).admins_require_2fa
    # Another admin without 2FA can no longer act as admin, and is told why.
    other = rich_group["bea"]
    from app.models import Membership
    db.session.scalar(db.select(Membership).where(Membership.user_id == other.id)).role = "admin"
    db.session.commit()
    sign_in(client, other)
    page = client.get("/g/allotments/export")
    assert page.status_code == 403 and "requires two-factor" in page.text
    # And the admin who has it on cannot turn it off while the group requires it.
    sign_in(client, admin)
    assert "stays on" in client.get("/account/2fa").text
