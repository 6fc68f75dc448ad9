"""Outbound DKIM: with a key configured, every message carries a signature that verifies."""
from __future__ import annotations

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.services import discussions
from tests.factories import GroupFactory, member


def test_messages_are_dkim_signed_when_a_key_is_configured(clean_app, outbox, tmp_path, monkeypatch):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    monkeypatch.setitem(clean_app.config, "DKIM_SELECTOR", "q1")
    monkeypatch.setitem(clean_app.config, "DKIM_KEY_FILE", str(key_file))

    group = GroupFactory(handle="garden")
    ann = member(group, role="admin")
    member(group, email="bob@example.org")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Compost", body="Bins?")
    mail = outbox.last_to("bob@example.org")
    assert "d=quorum.test" in mail.header("DKIM-Signature") and "s=q1" in mail.header("DKIM-Signature")

    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dnsfunc(name, timeout=5):
        assert name == b"q1._domainkey.quorum.test."
        return record

    assert dkim.verify(mail.raw, dnsfunc=dnsfunc)
