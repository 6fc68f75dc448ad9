"""A digest carries a one-click way out: List-Unsubscribe (https one-click + mailto), RFC 8058
List-Unsubscribe-Post, and a footer link; each stops digests and a second use changes nothing."""
from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from app.email.addresses import parse_reply_local
from app.extensions import db
from app.models import Membership, User
from tests.helpers import post

from tests.mailauth import sign

from .conftest import digests_to, run


def _digest(scene, outbox, later):
    scene.thread(title="Seed swap")
    run(later)
    [mail] = digests_to(outbox, scene.alice)
    return mail


def _settings(user) -> tuple[str, str]:
    db.session.expire_all()
    return (db.session.get(User, user.id).digest_frequency,
            db.session.scalar(select(Membership.volume).where(Membership.user_id == user.id)))


def _one_click(mail) -> str:
    return re.search(r"<(http://localhost/m/one-click/digest_off/[^>]+)>", mail.header("List-Unsubscribe")).group(1)


def test_a_digest_has_list_unsubscribe_headers_for_one_click_and_mail(scene, outbox, later):
    mail = _digest(scene, outbox, later)
    assert mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    https, mailto = re.findall(r"<([^>]+)>", mail.header("List-Unsubscribe"))
    assert https == _one_click(mail)
    address, subject = re.match(r"mailto:([^?]+)\?subject=(.+)$", mailto).groups()
    target = parse_reply_local(address.split("@")[0])
    assert (target.kind, target.target_id, target.user_id) == ("group", scene.group.id, scene.alice.id)
    assert unquote(subject) == "digest off"


def test_one_click_stops_digests_without_a_session_and_only_once(scene, outbox, later, clean_app):
    mail = _digest(scene, outbox, later)
    client = clean_app.test_client(use_cookies=False)  # as a mail provider posts: no cookie, no CSRF token
    path = _one_click(mail).replace("http://localhost", "")
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and b"no more digest emails" in response.data
    # Garden came to Alice only by digest: "digest" volume would keep a daily digest coming.
    assert _settings(scene.alice) == ("off", "mute")
    again = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert again.status_code == 410 and b"get no digests" in again.data

    outbox.clear()
    scene.thread(title="Another thread")
    run(later.replace(year=later.year + 1))
    assert digests_to(outbox, scene.alice) == []


def test_the_footer_link_shows_one_button_and_acts_only_on_post(scene, outbox, later, client):
    mail = _digest(scene, outbox, later)
    url = re.search(r"Stop digests \(one click, no sign-in\): (http://localhost/m/digest_off/\S+)", mail.text).group(1)
    assert f'href="{url}"' in mail.html
    path = url.replace("http://localhost", "")
    page = client.get(path)
    assert page.status_code == 200 and b"Stop digests</button>" in page.data
    assert b"all emails from Garden" in page.data  # the page says what stopping digests also stops
    assert _settings(scene.alice) == ("daily", "digest")  # a GET (a mail scanner) changes nothing
    assert client.post(path).status_code == 400  # no CSRF token
    response = post(client, path)
    assert response.status_code == 303
    assert b"no more digest emails" in client.get(response.location).data
    assert _settings(scene.alice) == ("off", "mute")
    assert post(client, path).status_code == 410


def test_the_mailto_stops_digests_through_the_inbound_pipeline(scene, outbox, later, dns):
    from mail.pipeline import process

    mail = _digest(scene, outbox, later)
    address, subject = re.search(r"<mailto:([^?]+)\?subject=([^>]+)>", mail.header("List-Unsubscribe")).groups()
    message = EmailMessage()  # what a mail client sends for List-Unsubscribe's mailto: a subject, no text
    message["From"] = "Alice <alice@example.org>"
    message["To"] = address
    message["Subject"] = unquote(subject)
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content("")
    outcome = process(sign(message.as_bytes()), envelope_from="alice@example.org", recipients=[address])
    assert (outcome.status, outcome.action) == ("processed", "digest_off")
    assert _settings(scene.alice) == ("off", "mute")
    told = outbox.last_to("alice@example.org")
    assert told.subject == "Re: digest off" and "You will get no more digest emails." in told.text
