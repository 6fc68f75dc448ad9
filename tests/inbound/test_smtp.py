"""The real aiosmtpd server, spoken to with smtplib: accept, refuse at RCPT, size, STARTTLS."""
from __future__ import annotations

import smtplib
import ssl
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import InboundMessage
from mail.server import start_server

from .conftest import comments_of, reply


@pytest.fixture
def server(clean_app, dns):
    controller = start_server(clean_app)
    yield controller
    controller.stop()


def smtp(server) -> smtplib.SMTP:
    return smtplib.SMTP(server.hostname, server.port, timeout=10)


def test_a_reply_is_accepted_stored_and_becomes_a_comment(scene, server):
    to = scene.reply_address()
    with smtp(server) as client:
        refused = client.sendmail("alice@example.org", [to], reply(to=to, body="See you there.\n"))
    assert refused == {}
    row = db.session.scalars(select(InboundMessage)).one()
    assert row.status == "processed" and row.peer == "127.0.0.1"
    assert comments_of(scene.thread)[-1].body == "See you there."


@pytest.mark.parametrize(("address", "reason"), [
    ("someone@elsewhere.example", "we do not accept mail for elsewhere.example"),
    ("nobody@quorum.test", "there is no group called nobody here"),
    ("r+d1.1.0.1.aaaaaaaa@quorum.test", "not valid"),
    ("r+zzz@quorum.test", "not one we issued"),
    ("bounces+1.wrongmac00@quorum.test", "bounce address is not one we issued"),
])
def test_addresses_we_do_not_serve_are_refused_at_rcpt_with_the_reason(scene, server, address, reason):
    with smtp(server) as client:
        client.ehlo()
        client.mail("alice@example.org")
        code, text = client.rcpt(address)
    assert code == 550 and reason in text.decode()


def test_a_secret_groups_address_answers_as_unknown_unless_the_sender_is_a_member(scene, server):
    from tests.factories import GroupFactory, MembershipFactory

    secret = GroupFactory(handle="board", privacy="secret")
    MembershipFactory(group=secret, user=scene.alice)
    answers = {}
    for sender, address in (("stranger@elsewhere.example", "board@quorum.test"),
                            ("stranger@elsewhere.example", "noboard@quorum.test"),
                            ("alice@example.org", "board@quorum.test")):
        with smtp(server) as client:
            client.ehlo()
            client.mail(sender)
            code, text = client.rcpt(address)
        answers[(sender, address)] = (code, text.decode().replace(address.split("@")[0], "HANDLE"))
    probe, unknown, member = answers.values()
    assert probe == unknown and probe[0] == 550  # the same words for a secret group and no group at all
    assert member[0] == 250


def test_an_expired_reply_address_is_refused_at_rcpt(scene, server):
    from app.email.addresses import reply_address

    old_day = int((datetime.now(timezone.utc) - timedelta(days=400)).timestamp() // 86400)
    address = reply_address(scene.alice, "discussion", scene.thread.id, day=old_day)
    with smtp(server) as client:
        client.ehlo()
        client.mail("alice@example.org")
        code, text = client.rcpt(address)
    assert code == 550 and b"expired" in text


def test_a_revoked_reply_address_is_refused_at_rcpt(scene, server):
    address = scene.reply_address()
    scene.alice.mail_token_generation = 1
    db.session.commit()
    with smtp(server) as client:
        client.ehlo()
        client.mail("alice@example.org")
        code, text = client.rcpt(address)
    assert code == 550 and b"revoked" in text


def test_one_bad_recipient_does_not_refuse_the_good_one(scene, server):
    to = scene.reply_address()
    with smtp(server) as client:
        refused = client.sendmail("alice@example.org", [to, "ghost@quorum.test"], reply(to=to))
    assert list(refused) == ["ghost@quorum.test"]
    assert db.session.scalars(select(InboundMessage)).one().recipients == [to]


def test_the_size_limit_is_advertised_and_enforced(scene, clean_app, dns):
    clean_app.config["SMTP_MAX_MESSAGE_BYTES"] = 20_000
    controller = start_server(clean_app)
    try:
        to = scene.reply_address()
        with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
            client.ehlo()
            assert client.esmtp_features["size"] == "20000"
            big = reply(to=to, body=("x" * 70 + "\n") * 400)
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # declared with SIZE= at MAIL FROM
                client.sendmail("alice@example.org", [to], big)
            assert refused.value.smtp_code == 552
            client.rset()
            client.mail("alice@example.org")  # not declared: counted while it arrives
            client.rcpt(to)
            code, _ = client.data(big)
        assert code == 552
        assert db.session.scalars(select(InboundMessage)).all() == []
    finally:
        controller.stop()
        clean_app.config["SMTP_MAX_MESSAGE_BYTES"] = 25 * 1024 * 1024


def test_the_database_being_down_answers_451_so_the_sender_retries(scene, server, monkeypatch):
    import mail.store

    def broken(*args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(mail.store, "accept", broken)
    to = scene.reply_address()
    with smtp(server) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("alice@example.org", [to], reply(to=to))
    assert refused.value.smtp_code == 451


def test_starttls_is_offered_and_works_with_a_configured_certificate(scene, clean_app, dns, tmp_path):
    cert, key = self_signed(tmp_path)
    clean_app.config.update(SMTP_TLS_CERT=str(cert), SMTP_TLS_KEY=str(key))
    controller = start_server(clean_app)
    try:
        to = scene.reply_address()
        with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            context = ssl.create_default_context(cafile=str(cert))
            context.check_hostname = False
            client.starttls(context=context)
            assert client.sock.version().startswith("TLS")
            client.ehlo()
            client.sendmail("alice@example.org", [to], reply(to=to, body="Sent over TLS.\n"))
        assert comments_of(scene.thread)[-1].body == "Sent over TLS."
    finally:
        controller.stop()
        clean_app.config.update(SMTP_TLS_CERT=None, SMTP_TLS_KEY=None)


def self_signed(folder):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "quorum.test")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
