"""Parsing and classifying inbound mail: human, auto_reply, bounce, complaint, loop.

Synthetic messages are written inline; the Discourse fixtures (GPL, kept
outside the repository in ``../shared/corpora``) are read in place and the
tests that need them are skipped when they are absent.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mail.classify import (
    AUTO_REPLY,
    BOUNCE,
    COMPLAINT,
    HUMAN,
    LOOP,
    Classification,
    classify,
    header,
    parse_bytes,
    sender_address,
)
from mail.htmltext import html_to_text
from mail.trimming import trim_reply

DISCOURSE = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "discourse" / "emails"

OUR_DOMAIN = "quorum.example"


def mail(headers: str, body: str = "Hello there.\n") -> EmailMessage:
    """A message from header lines (one per line) and a body."""
    return parse_bytes((headers.strip("\n") + "\n\n" + body).encode())


def member_reply(**headers: str) -> EmailMessage:
    """A plain reply from a member to one of our notifications; keywords add or replace headers."""
    fields = {
        "From": "Alice <alice@example.org>",
        "To": f"reply+k7f3@{OUR_DOMAIN}",
        "Subject": "Re: Garden day",
        "Message-ID": "<CAF1234@mail.gmail.com>",
        "In-Reply-To": f"<1704708120.abcd@{OUR_DOMAIN}>",
    }
    fields.update({name.replace("_", "-"): value for name, value in headers.items()})
    return mail("\n".join(f"{name}: {value}" for name, value in fields.items()))


def kind_of(msg: EmailMessage, *, envelope_from: str | None = "alice@example.org", **kwargs) -> Classification:
    return classify(msg, envelope_from=envelope_from, our_domain=OUR_DOMAIN,
                    our_message_id_domain=OUR_DOMAIN, **kwargs)


# --- parse_bytes and sender_address ----------------------------------------------------

def test_parse_bytes_skips_blank_lines_before_the_headers():
    msg = parse_bytes(b"\n\r\n  \nFrom: a@example.org\nSubject: hi\n\nbody\n")
    assert msg["Subject"] == "hi"
    assert sender_address(msg) == "a@example.org"


def test_parse_bytes_strips_nul_bytes():
    msg = parse_bytes(b"From: a@example.org\nSubject: hel\x00lo\n\nbo\x00dy\n")
    assert msg["Subject"] == "hello"
    assert msg.get_content().strip() == "body"


@pytest.mark.parametrize("raw", [b"", b"\x00\x00", b"\xff\xfe\x00garbage", b":\n:\n\n", b"From: <<<@@@>>>\n\n"])
def test_parse_bytes_never_raises(raw):
    assert isinstance(parse_bytes(raw), EmailMessage)


@pytest.mark.parametrize(
    ("from_header", "expected"),
    [
        ("Alice <Alice@Example.ORG>", "alice@example.org"),
        ('"bob@evil.example" <bob@example.org>', "bob@example.org"),
        ("=?utf-8?b?0KHQu9GD0YfQsNC50L3QsNGP?= <random.name@bar.ru>", "random.name@bar.ru"),
        ("Foo Bar [THIS IS INVALID] <discourse@bar.com>", "discourse@bar.com"),
        ("MAILER-DAEMON (Mail Delivery System)", None),
        ("undisclosed-recipients:;", None),
    ],
)
def test_sender_address(from_header, expected):
    assert sender_address(mail(f"From: {from_header}")) == expected


def test_sender_address_without_from_is_none():
    assert sender_address(mail("Subject: nobody")) is None


# --- human and auto-reply --------------------------------------------------------------

def test_a_member_reply_is_human():
    assert kind_of(member_reply()).kind == HUMAN


def test_outlooks_auto_response_suppress_is_not_an_auto_reply():
    assert kind_of(member_reply(X_Auto_Response_Suppress="All")).kind == HUMAN


def test_auto_submitted_no_is_human():
    assert kind_of(member_reply(Auto_Submitted="no")).kind == HUMAN


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-generated; owner-email=x@example.org"),
        ("Precedence", "bulk"),
        ("Precedence", "junk"),
        ("Precedence", "list"),
        ("Precedence", "auto_reply"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Vacation"),
        ("X-Auto-Reply", "true"),
    ],
)
def test_automation_headers_mark_an_auto_reply(name, value):
    result = kind_of(member_reply(**{name.replace("-", "_"): value}))
    assert result.kind == AUTO_REPLY
    assert name in result.reason


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: Re: Garden day",
        "Out of Office AutoReply: Garden day",
        "Automatic reply: Garden day",
        "Autoreply: Garden day",
        "Auto-Reply: Garden day",
        "Abwesenheitsnotiz: Gartentag",
        "Automatische Antwort: Gartentag",
        "Réponse automatique : Journée jardin",
        "Respuesta automática: Día del jardín",
        "Risposta automatica: Giornata",
        "Automatisch antwoord: Tuindag",
        "Frånvaro: Trädgårdsdag",
        "Out of office",
    ],
)
def test_out_of_office_subjects_are_auto_replies(subject):
    assert kind_of(member_reply(Subject=subject)).kind == AUTO_REPLY


@pytest.mark.parametrize("subject", ["Out of office party: who is coming?", "Absence: I miss Thursday",
                                     "Re: Automatic replies are annoying"])
def test_subjects_that_only_mention_absence_are_human(subject):
    msg = mail(f"From: alice@example.org\nSubject: {subject}")
    assert kind_of(msg).kind == HUMAN


@pytest.mark.parametrize("envelope", ["", "<>"])
def test_null_envelope_sender_is_an_auto_reply(envelope):
    result = kind_of(member_reply(), envelope_from=envelope)
    assert result == Classification(AUTO_REPLY, "null envelope sender")


def test_unknown_envelope_sender_is_not_treated_as_null():
    assert kind_of(member_reply(), envelope_from=None).kind == HUMAN


@pytest.mark.parametrize("sender", ["noreply@shop.example", "no-reply@shop.example", "do-not-reply@shop.example",
                                    "MAILER-DAEMON@mx.example"])
def test_no_reply_senders_are_auto_replies(sender):
    msg = mail(f"From: {sender}\nSubject: Your order")
    assert kind_of(msg, envelope_from=sender).kind == AUTO_REPLY


# --- bounces -------------------------------------------------------------------------

def dsn(status: str = "5.1.1", *, action: str = "failed", diagnostic: str = "smtp; 550 5.1.1 no such user",
        recipient: str = "bob@example.org", envelope_to: str = f"bounces+1.abcdef@{OUR_DOMAIN}") -> EmailMessage:
    """An RFC 3464 delivery status notification for mail we sent to ``recipient``."""
    return parse_bytes(f"""\
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: {envelope_to}
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--B
Content-Type: message/rfc822

From: Quorum <notifications@{OUR_DOMAIN}>
To: {recipient}
Subject: Garden day

Hi
--B--
""".encode())


def test_a_dsn_is_a_hard_bounce_naming_the_failed_address():
    result = kind_of(dsn("5.1.1"), envelope_from="")
    assert (result.kind, result.bounce_address, result.hard) == (BOUNCE, "bob@example.org", True)


def test_a_4xx_status_is_a_soft_bounce():
    result = kind_of(dsn("4.2.2", action="delayed", diagnostic="smtp; 452 mailbox full"), envelope_from="")
    assert (result.kind, result.hard) == (BOUNCE, False)


def test_without_status_the_smtp_code_decides():
    result = kind_of(dsn("", diagnostic="smtp; 550 user unknown"), envelope_from="")
    assert result.hard is True


def test_a_success_dsn_names_no_failed_address():
    result = kind_of(dsn("2.0.0", action="relayed", diagnostic="smtp; 250 ok"), envelope_from="")
    assert (result.kind, result.bounce_address, result.hard) == (BOUNCE, None, None)


def test_mail_to_our_verp_address_is_a_bounce_even_without_a_report():
    msg = mail("From: postmaster@old.example\nSubject: Problem with your message", "User bob unknown.\n")
    result = kind_of(msg, envelope_from="", recipients=[f"bounces+1.abcdef@{OUR_DOMAIN}"])
    assert (result.kind, result.bounce_address, result.hard) == (BOUNCE, None, None)
    assert "bounces+1.abcdef" in result.reason


def test_a_mailer_daemon_notice_without_a_report_is_a_bounce():
    msg = mail("From: MAILER-DAEMON@mx.example.org\nSubject: Delivery Status Notification (Failure)")
    assert kind_of(msg, envelope_from="").kind == BOUNCE


# --- complaints ------------------------------------------------------------------------

ARF = f"""\
From: abuse@mailbox.example
To: bounces@{OUR_DOMAIN}
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <carol@mailbox.example>

--F
Content-Type: message/rfc822

From: Quorum <notifications@{OUR_DOMAIN}>
To: carol@mailbox.example
Subject: Garden day

Hi
--F--
"""


def test_an_arf_report_is_a_complaint_naming_the_recipient():
    result = kind_of(parse_bytes(ARF.encode()), envelope_from="", recipients=[f"bounces@{OUR_DOMAIN}"])
    assert (result.kind, result.bounce_address) == (COMPLAINT, "carol@mailbox.example")


# --- loops -----------------------------------------------------------------------------

def test_mail_from_our_notifications_address_is_a_loop():
    msg = mail(f"From: Quorum <notifications@{OUR_DOMAIN}>\nAuto-Submitted: auto-generated\nSubject: Garden day")
    assert kind_of(msg, envelope_from=f"bounces@{OUR_DOMAIN}").kind == LOOP


@pytest.mark.parametrize("address", [f"r+d12.3.0.19700.abcdefgh@{OUR_DOMAIN}", f"bounces+1.ab@{OUR_DOMAIN}",
                                     f"bounces@{OUR_DOMAIN}", f"reply@{OUR_DOMAIN}"])
def test_mail_from_our_reply_and_bounce_addresses_is_a_loop(address):
    assert kind_of(mail(f"From: {address}")).kind == LOOP


def test_a_member_on_our_domain_is_not_a_loop():
    assert kind_of(mail(f"From: rita@{OUR_DOMAIN}")).kind == HUMAN
    assert kind_of(mail(f"From: r@{OUR_DOMAIN}")).kind == HUMAN


def test_extra_own_addresses_are_loops_too():
    msg = mail(f"From: garden@{OUR_DOMAIN}")
    assert kind_of(msg).kind == HUMAN
    assert kind_of(msg, own_addresses=[f"Garden@{OUR_DOMAIN}"]).kind == LOOP


def test_our_message_id_from_our_domain_is_a_loop():
    msg = mail(f"From: someone@{OUR_DOMAIN}\nMessage-ID: <1704708120.abcd@{OUR_DOMAIN}>")
    assert kind_of(msg).kind == LOOP


def test_a_reply_to_our_message_id_from_a_member_is_human():
    # Every member reply has our Message-ID in In-Reply-To; that alone is no loop.
    assert kind_of(member_reply()).kind == HUMAN


@pytest.mark.parametrize(("name", "value"), [("X-Quorum-Loop", "1"), ("List-Id", f"Garden <garden.{OUR_DOMAIN}>")])
def test_our_loop_headers_mark_a_loop(name, value):
    assert kind_of(member_reply(**{name.replace("-", "_"): value})).kind == LOOP


def test_someone_elses_list_id_is_not_a_loop():
    assert kind_of(member_reply(List_Id="<garden.lists.example.org>")).kind == HUMAN


# --- the order of the checks -----------------------------------------------------------

def test_a_bounce_with_a_null_sender_is_a_bounce_not_an_auto_reply():
    assert kind_of(dsn(), envelope_from="<>").kind == BOUNCE


def test_a_complaint_sent_to_our_bounce_address_is_a_complaint():
    result = kind_of(parse_bytes(ARF.encode()), envelope_from="", recipients=[f"bounces+1.ab@{OUR_DOMAIN}"])
    assert result.kind == COMPLAINT


def test_our_own_auto_generated_mail_is_a_loop_not_an_auto_reply():
    msg = mail(f"From: notifications@{OUR_DOMAIN}\nAuto-Submitted: auto-generated")
    assert kind_of(msg).kind == LOOP


# --- the Discourse fixtures ------------------------------------------------------------
# Mapped onto our rules with our_domain = bar.com (Discourse's reply+…@bar.com).

def discourse(name: str) -> EmailMessage:
    if not DISCOURSE.is_dir():
        pytest.skip("../shared/corpora not present: corpus tests skipped")
    return parse_bytes((DISCOURSE / name).read_bytes())


def classify_discourse(name: str) -> Classification:
    msg = discourse(name)
    # The MTA would give us the envelope; the fixtures record it in Return-Path.
    return_path = header(msg, "Return-Path")
    recipients = [header(msg, "Delivered-To") or header(msg, "To")]
    return classify(msg, envelope_from=return_path or None, our_domain="bar.com",
                    our_message_id_domain="bar.com", recipients=recipients)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("auto_generated_precedence.eml", AUTO_REPLY),
        ("auto_generated_header.eml", AUTO_REPLY),
        ("auto_reply.eml", AUTO_REPLY),
        ("quirks_exchange_xars.eml", HUMAN),
        ("email_to_group_email_username_auto_generated.eml", AUTO_REPLY),
        ("from_reply_by_email_address.eml", LOOP),
        ("no_from.eml", HUMAN),  # no sender: the pipeline rejects it, but it is not automated
        ("invalid_from_2.eml", BOUNCE),  # MAILER-DAEMON, "Undelivered Mail Returned to Sender"
        ("mailinglist.eml", AUTO_REPLY),  # Precedence: list
        ("text_reply.eml", HUMAN),
        ("html_reply.eml", HUMAN),
        ("gmail_html_reply.eml", HUMAN),
        ("staged_sender.eml", HUMAN),
        ("reply_user_matching.eml", HUMAN),
    ],
)
def test_discourse_fixture_kind(name, kind):
    assert classify_discourse(name).kind == kind


@pytest.mark.parametrize(
    ("name", "address", "hard"),
    [
        ("bounced_email.eml", "linux-admin@b-s-c.co.jp", True),
        ("bounced_email_2.eml", None, None),  # multipart/report without a delivery-status part
        ("bounced_email_multiple_status_codes.eml", "linux-admin@b-s-c.co.jp", True),
        ("hard_bounce_via_verp.eml", "linux-admin@b-s-c.co.jp", True),
        ("hard_bounce_via_verp_2.eml", "linux-admin@b-s-c.co.jp", True),
        # Final-Recipient is a catch-all; the original recipient is what we sent to.
        ("verp_bounce_different_final_recipient.eml", "linux-admin@b-s-c.co.jp", False),
    ],
)
def test_discourse_bounces(name, address, hard):
    result = classify_discourse(name)
    assert (result.kind, result.bounce_address, result.hard) == (BOUNCE, address, hard)


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("no_from.eml", None),
        ("invalid_from_1.eml", "discourse@bar.com"),  # Ruby's mail gem cannot parse it; we can
        ("invalid_from_2.eml", None),  # "MAILER-DAEMON (Mail Delivery System)": no address
        ("encoded_display_name.eml", "random.name@bar.ru"),
    ],
)
def test_discourse_sender_address(name, address):
    assert sender_address(discourse(name)) == address


@pytest.mark.parametrize("name", ["big5.eml", "boundary.eml", "dutch.eml", "hebrew.eml", "html_only.eml",
                                  "inline_reply.eml", "multiline_wrote.eml"])
def test_discourse_fixtures_with_a_leading_blank_line_keep_their_headers(name):
    assert sender_address(discourse(name)) is not None


def test_discourse_nul_byte_is_stripped_from_the_subject():
    assert "\x00" not in header(discourse("null_byte_in_subject.eml"), "Subject")


def test_every_discourse_fixture_parses_and_classifies():
    if not DISCOURSE.is_dir():
        pytest.skip("../shared/corpora not present: corpus tests skipped")
    kinds = {p.name: classify_discourse(p.name).kind for p in sorted(DISCOURSE.glob("*.eml"))}
    assert set(kinds.values()) <= {HUMAN, AUTO_REPLY, BOUNCE, COMPLAINT, LOOP}


# --- fuzzing: the whole inbound text path never raises -----------------------------------

_HEADER_NAMES = ["From", "To", "Subject", "Auto-Submitted", "Precedence", "Content-Type", "Message-ID",
                 "In-Reply-To", "List-Id", "X-Autoreply", "Return-Path", "Content-Transfer-Encoding"]
_header_line = st.builds(lambda name, value: f"{name}: {value}\r\n".encode("utf-8", "surrogatepass"),
                         st.sampled_from(_HEADER_NAMES), st.text(max_size=60))
_structured_mail = st.builds(lambda headers, body: b"".join(headers) + b"\r\n" + body,
                             st.lists(_header_line, max_size=8), st.binary(max_size=300))


def _exercise(raw: bytes) -> None:
    msg = parse_bytes(raw)
    sender_address(msg)
    kind_of(msg, envelope_from="", recipients=[f"bounces+x@{OUR_DOMAIN}", "not an address"])
    kind_of(msg, envelope_from=None)
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
    except (LookupError, ValueError, AttributeError, TypeError, KeyError):
        return  # body extraction is the pipeline's job; we fuzz the text functions
    trim_reply(html_to_text(text) if "<" in text else text)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(raw):
    _exercise(raw)


@settings(max_examples=300, deadline=None)
@given(_structured_mail)
def test_random_headers_never_raise(raw):
    _exercise(raw)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["delivery-status", "feedback-report", "disposition-notification"]), st.text(max_size=200))
def test_random_reports_never_raise(report_type, block):
    raw = (f"From: x@example.org\nContent-Type: multipart/report; report-type={report_type}; boundary=\"B\"\n\n"
           f"--B\nContent-Type: message/{report_type}\n\n{block}\n--B--\n")
    _exercise(raw.encode("utf-8", "surrogatepass"))


def test_flufl_bounce_detectors_are_read_one_by_one():
    """The classifier runs flufl.bounce's detectors itself, so that one raising leaves the rest their
    say; this fails if an upgrade moves the list (the classifier would fall back to one scan)."""
    from mail.classify import _flufl_detectors

    names = [d.__name__ for d in _flufl_detectors()]
    assert names[0] == "DSN" and {"SimpleMatch", "SimpleWarning", "LLNL"} <= set(names)
