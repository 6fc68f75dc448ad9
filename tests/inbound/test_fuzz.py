"""Generated and mutated messages through the whole pipeline: never an unhandled exception, and
always a status with a reason."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail.pipeline import process

from .conftest import reply

STATUSES = {"processed", "held", "rejected"}
header_names = st.sampled_from(["From", "To", "Subject", "Message-ID", "In-Reply-To", "Content-Type",
                                "Content-Transfer-Encoding", "Auto-Submitted", "Precedence", "Date",
                                "Authentication-Results", "DKIM-Signature", "Received", "MIME-Version"])
header_values = st.one_of(st.text(max_size=80), st.sampled_from([
    "multipart/mixed; boundary=x", "multipart/report; report-type=delivery-status; boundary=b",
    "text/html; charset=unicode-1-1-utf-7", "base64", "quoted-printable", "=?utf-8?B?////?=", "<>", "@",
    "auto-replied", "bulk", "Mon, 32 Foo 99999 99:99:99", "quorum.test; dmarc=pass", "v=1; a=rsa-sha256; d=x; b=;",
]))


def _settings():
    return settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _check(raw: bytes, to: str) -> None:
    outcome = process(raw, envelope_from="alice@example.org", recipients=[to], dry_run=True)
    assert outcome.status in STATUSES and outcome.reason


def test_generated_messages_never_crash_the_pipeline(scene):
    to = scene.reply_address()

    @_settings()
    @given(headers=st.lists(st.tuples(header_names, header_values), max_size=12),
           body=st.binary(max_size=400))
    def run(headers, body):
        head = "\r\n".join(f"{n}: {v}" for n, v in headers).encode("utf-8", "surrogatepass")
        _check(head + b"\r\n\r\n" + body, to)

    run()


def test_mutated_real_replies_never_crash_the_pipeline(scene):
    to = scene.reply_address()
    base = reply(to=to, body="Fine by me.\n\nOn Tue, Bob wrote:\n> Shall we?\n")

    @_settings()
    @given(cuts=st.lists(st.tuples(st.integers(0, len(base)), st.integers(0, 40), st.binary(max_size=20)),
                         max_size=6))
    def run(cuts):
        raw = bytearray(base)
        for at, length, insert in cuts:
            raw[at:at + length] = insert
        _check(bytes(raw), to)

    run()
