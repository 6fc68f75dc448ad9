"""Discourse's real-world fixtures (read in place from ../shared/corpora, never copied), with the
expectations of EXPECTED.md mapped onto Quorum: reply keys become Quorum reply addresses for a
test member, and the reply must come out as the expected clean comment; automatic mail must
never become a post. Each test prints PASS/FAIL lines; the summary test reports the count."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.extensions import db
from app.models import InboundMessage
from mail.pipeline import process
from mail.processing import process_stored
from mail.store import accept

from tests.mailauth import sign

from .conftest import comments_of

# fixture → the comment Quorum posts (Discourse's "raw", with its Markdown turned into our text)
REPLIES = {
    "text_reply.eml": "This is a text reply :)\n\nEmail parsing should not break because of a UTF-8 character: ’",
    "html_reply.eml": "This is a HTML reply ;)",
    "text_and_html_reply.eml": "This is the *text* part.",
    "gmail_html_reply.eml": "This is a GMAIL reply ;)",
    "body_with_image.eml": "This is a GMAIL reply ;)",
    "hebrew_reply.eml": "שלום! מה שלומך היום?",
    "chinese_reply.eml": "您好！ 你今天好吗？",
    "reply_with_weird_encoding.eml": "This is a reply with a weird encoding.",
    "reply_with_8bit_encoding.eml": "hab vergessen kritische zeichen einzufügen:\näöüÄÖÜß",
    "on_date_contact_wrote.eml": "This is the actual reply.",
    "previous_replies.eml": "This will not include the previous discussion that is present in this email.",
    "previous_replies_de.eml": "This will not include the previous discussion that is present in this email.",
    "reply_above.eml": "This will not include the previous discussion that is present in this email.",
    "reply_above_de.eml": "This will not include the previous discussion that is present in this email.",
    "inline_mixed_replies.eml": "> WAT <https://bar.com/users/wat> November 28\n>\n> This is the previous post.\n\n"
                                "And this is *my* reply :+1:\n\n> This is another post.\n\nAnd this is **another** reply.",
    "iphone_signature.eml": "This is not the signature you're looking for.",
    "original_message.eml": "This is a reply :)",
    "quirks_exchange_xars.eml": "Some thing.",  # X-Auto-Response-Suppress is ordinary Outlook mail
    "attached_txt_file.eml": "Please find some text file attached.",
    "attached_eml_file.eml": "Please find the eml file attached.",
    "from_the_future.eml": None,  # an absurd Date changes nothing
    "encoding_undefined_conversion.eml": None,  # astral-plane characters must not crash
}

# fixture → class; none of these may become a post
AUTOMATIC = {
    "auto_generated_precedence.eml": "auto_reply",
    "auto_generated_header.eml": "auto_reply",
    "auto_reply.eml": "auto_reply",
    "email_to_group_email_username_auto_generated.eml": "auto_reply",
    "bounced_email.eml": "bounce",
    "bounced_email_2.eml": "bounce",
    "bounced_email_multiple_status_codes.eml": "bounce",
    "hard_bounce_via_verp.eml": "bounce",
    "hard_bounce_via_verp_2.eml": "bounce",
    "verp_bounce_different_final_recipient.eml": "bounce",
    "from_reply_by_email_address.eml": "loop",
}

# fixture → (status, words in the reason): refused without a post
REFUSED = {
    "no_body.eml": ("rejected", "no reply text"),
    "empty.eml": ("rejected", "no reply text"),
    "no_from.eml": ("rejected", "no sender"),
    "bad_destinations.eml": ("rejected", "we do not accept mail for"),
}

ATTACHMENTS = {
    "attached_txt_file.eml": ["text.txt"],
    "attached_eml_file.eml": ["sample.eml"],
    "encoded_filename.eml": ["This is a test.pdf"],
}

RESULTS: list[tuple[str, bool]] = []


@pytest.fixture
def discourse(shared_corpora) -> Path:
    return shared_corpora / "discourse" / "emails"


def split_message(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """(header fields, newline, body) of raw mail, whatever its line endings."""
    raw = raw.lstrip(b"\r\n \t")
    ends = [(raw.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if raw.find(sep) >= 0]
    end, sep = min(ends) if ends else (len(raw), b"\n\n")
    newline = sep[: len(sep) // 2]
    fields = re.split(rb"\r?\n(?![ \t])", raw[:end].rstrip(b"\r\n"))
    return fields, newline, raw[end + len(sep):]


def as_reply_to_quorum(raw: bytes, to: str, sender: str | None = "Alice <alice@example.org>",
                       keep_auth: bool = False) -> bytes:
    """Point a Discourse reply at a Quorum reply address, from our test member."""
    fields, newline, body = split_message(raw)
    drop = rb"(?i)(from|to|cc|delivered-to|dkim-signature" + (rb"" if keep_auth else rb"|authentication-results") + rb"):"
    kept = [f for f in fields if not re.match(drop, f)]
    kept += ([b"From: " + sender.encode()] if sender else []) + [b"To: " + to.encode()]
    raw = newline.join(kept) + newline * 2 + body
    # Alice's provider signs her mail (DKIM, example.org), as Gmail or Outlook would have.
    return sign(raw) if sender and not keep_auth else raw


def record(name: str, ok: bool) -> None:
    RESULTS.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'} discourse/{name}")


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_a_real_reply_becomes_the_expected_clean_comment(scene, discourse, name):
    to = scene.reply_address()
    raw = as_reply_to_quorum((discourse / name).read_bytes(), to)
    row = accept(raw, envelope_from="alice@example.org", recipients=[to], domain="quorum.test")
    process_stored(row.id)
    db.session.expire_all()
    row = db.session.get(InboundMessage, row.id)
    comments = comments_of(scene.thread)
    ok = row.status == "processed" and len(comments) == 2
    expected = REPLIES[name]
    if ok and expected is not None:
        ok = comments[-1].body == expected
    record(name, ok)
    assert row.status == "processed", row.reason
    if expected is not None:
        assert comments[-1].body == expected


@pytest.mark.parametrize(("name", "kind"), sorted(AUTOMATIC.items()))
def test_automatic_mail_from_the_corpus_never_becomes_a_post(scene, discourse, name, kind):
    raw = (discourse / name).read_bytes()
    if name == "from_reply_by_email_address.eml":
        raw = raw.replace(b"@bar.com", b"@quorum.test")  # our own reply address, coming back
    to = scene.reply_address()
    # Delivered to a valid reply address (or our bounce address, as a bounce would be).
    rcpt = "bounces@quorum.test" if kind == "bounce" else to
    row = accept(raw, envelope_from="" if kind == "bounce" else "x@example.com", recipients=[rcpt], domain="quorum.test")
    process_stored(row.id)
    db.session.expire_all()
    row = db.session.get(InboundMessage, row.id)
    ok = row.classification == kind and len(comments_of(scene.thread)) == 1
    record(name, ok)
    assert (row.classification, len(comments_of(scene.thread))) == (kind, 1), row.reason


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_mail_without_a_body_sender_or_valid_destination_is_refused(scene, discourse, name):
    status, words = REFUSED[name]
    raw = (discourse / name).read_bytes()
    if name in ("no_body.eml", "empty.eml", "no_from.eml"):
        raw = as_reply_to_quorum(raw, scene.reply_address(), sender=None if name == "no_from.eml" else "alice@example.org")
        recipients = [scene.reply_address()]
    else:
        recipients = []  # as addressed in the file
    outcome = process(raw, envelope_from="alice@example.org", recipients=recipients)
    ok = outcome.status == status and words in outcome.reason and len(comments_of(scene.thread)) == 1
    record(name, ok)
    assert (outcome.status, len(comments_of(scene.thread))) == (status, 1)
    assert words in outcome.reason


@pytest.mark.parametrize("name", sorted(ATTACHMENTS))
def test_attachments_are_found_with_their_decoded_names(clean_app, dns, discourse, name):
    from mail.classify import parse_bytes
    from mail.mime import extract_reply

    # Read directly: the pipeline does not open mail addressed to none of our addresses.
    _body, attachments = extract_reply(parse_bytes((discourse / name).read_bytes()))
    found = [a.filename for a in attachments]
    record(name + " (attachments)", found == ATTACHMENTS[name])
    assert found == ATTACHMENTS[name]


def test_mail_without_a_message_id_is_stored_and_deduplicated_by_its_bytes(scene, discourse):
    to = scene.reply_address()
    raw = as_reply_to_quorum((discourse / "missing_message_id.eml").read_bytes(), to)
    first = accept(raw, envelope_from="alice@example.org", recipients=[to], domain="quorum.test")
    second = accept(raw, envelope_from="alice@example.org", recipients=[to], domain="quorum.test")
    statuses = [process_stored(first.id), process_stored(second.id)]
    db.session.expire_all()
    ok = first.message_id is None and statuses == ["rejected", "discarded"]  # it has no body at all
    record("missing_message_id.eml", ok)
    assert first.message_id is None and statuses == ["rejected", "discarded"]
    assert db.session.get(InboundMessage, second.id).duplicate_of_id == first.id


def test_a_dmarc_failure_reported_by_the_trusted_mta_holds_the_reply(scene, discourse, clean_app):
    clean_app.config["TRUSTED_AUTHSERV_ID"] = "example.com"
    try:
        to = scene.reply_address()
        raw = as_reply_to_quorum((discourse / "dmarc_fail.eml").read_bytes(), to, keep_auth=True)
        outcome = process(raw, envelope_from="alice@example.org", recipients=[to], dry_run=True)
    finally:
        clean_app.config["TRUSTED_AUTHSERV_ID"] = None
    record("dmarc_fail.eml", outcome.status == "held")
    assert (outcome.status, outcome.action) == ("held", "unconfirmed") and not outcome.authenticated


def test_zz_corpus_pass_count(capsys):
    """Report how many Discourse fixtures behaved as expected (in this run)."""
    if not RESULTS:
        pytest.skip("no corpus test ran in this process")
    passed = sum(ok for _, ok in RESULTS)
    with capsys.disabled():
        print(f"\nDiscourse fixtures mapped onto Quorum: {passed}/{len(RESULTS)} as expected")
    assert passed == len(RESULTS), [name for name, ok in RESULTS if not ok]


# --- tests/corpus (in the repository) through the whole pipeline ------------------------------

def _corpus_messages(want_human: bool) -> list[tuple[str, dict]]:
    import json

    root = Path(__file__).resolve().parents[1] / "corpus"
    found = []
    for expected in sorted(root.glob("*/expected.json")):
        for name, case in json.loads(expected.read_text(encoding="utf-8")).get("messages", {}).items():
            if name.endswith(".html") or name in json.loads(expected.read_text(encoding="utf-8")).get("known_limitations", {}):
                continue
            if (case["kind"] == "human") == want_human and (not want_human or "reply" in case):
                found.append((str(expected.parent / name), case))
    return found


@pytest.mark.parametrize(("path", "case"), _corpus_messages(True), ids=lambda v: Path(v).name if isinstance(v, str) else "")
def test_a_corpus_reply_is_posted_as_its_expected_comment(scene, path, case):
    to = scene.reply_address()
    raw = as_reply_to_quorum(Path(path).read_bytes(), to)
    row = accept(raw, envelope_from="alice@example.org", recipients=[to], domain="quorum.test")
    process_stored(row.id)
    db.session.expire_all()
    row = db.session.get(InboundMessage, row.id)
    assert row.status == "processed", row.reason
    assert comments_of(scene.thread)[-1].body == case["reply"]


@pytest.mark.parametrize(("path", "case"), _corpus_messages(False), ids=lambda v: Path(v).name if isinstance(v, str) else "")
def test_automatic_corpus_mail_at_a_reply_address_is_never_posted(scene, path, case):
    to = scene.reply_address()
    raw = Path(path).read_bytes()
    row = accept(raw, envelope_from="daemon@example.net", recipients=[to], domain="quorum.test")
    process_stored(row.id)
    db.session.expire_all()
    row = db.session.get(InboundMessage, row.id)
    assert row.classification != "human" and len(comments_of(scene.thread)) == 1, row.reason
