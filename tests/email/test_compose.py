"""One composer: a mail with attachments and one without carry the same headers, and a mail
kind's options are typed (a misspelled option is an error, not a header silently lost)."""
from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest

from app.email.compose import compose
from app.email.headers import AUTO_REPLIED, ListHeaders, MailOptions, Original
from app.email.render import Rendered

RENDERED = Rendered(subject="[garden] Compost bins", text="Hello Ann,\n\nWhere do they go?\n",
                    html="<p>Hello Ann,</p><p>Where do they go?</p>")
OPTIONS = MailOptions(
    from_name="Bob via Garden", message_id="<d1.c2.u3@quorum.test>", in_reply_to="<d1.u3@quorum.test>",
    references=("<d1.u3@quorum.test>",), reply_to="r+abc@quorum.test",
    lists=ListHeaders(list_id='"Garden" <garden.quorum.test>', archive_url="http://localhost/g/garden",
                      unsubscribe_url="http://localhost/m/tok", unsubscribe_mailto="r+def@quorum.test"))


def headers_of(raw: bytes) -> list[tuple[str, str]]:
    message = message_from_bytes(raw, policy=default)
    return [(name, str(value)) for name, value in message.items()
            if name not in ("Content-Type", "MIME-Version", "Date")]


def test_a_mail_with_attachments_carries_the_same_headers_as_one_without(clean_app):
    plain_id, plain = compose(RENDERED, to="ann@example.org", options=OPTIONS)
    attached_id, attached = compose(RENDERED, to="ann@example.org", options=OPTIONS,
                                    attachments=(("minutes.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),))
    assert plain_id == attached_id == "<d1.c2.u3@quorum.test>"
    assert headers_of(plain) == headers_of(attached)
    names = [name for name, _ in headers_of(plain)]
    for expected in ("From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Reply-To",
                     "Auto-Submitted", "List-Id", "List-Archive", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert names.count(expected) == 1, expected
    attachment = next(message_from_bytes(attached, policy=default).iter_attachments())
    assert attachment.get_filename() == "minutes.ics"


def test_the_one_click_unsubscribe_headers_follow_rfc_8058(clean_app):
    _, raw = compose(RENDERED, to="ann@example.org", options=OPTIONS)
    message = message_from_bytes(raw, policy=default)
    assert message["List-Unsubscribe"] == "<http://localhost/m/tok>, <mailto:r+def@quorum.test?subject=unsubscribe>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_misspelled_option_is_refused():
    with pytest.raises(TypeError):
        MailOptions(reply_too="r+abc@quorum.test")  # noqa - the typo is the point


def test_an_answer_threads_under_the_members_message_and_says_it_is_automatic(clean_app):
    options = MailOptions().answering(Original(message_id="<CAF123@mail.example.org>", subject="[garden] Garden day",
                                               references=("<d1.u7@quorum.test>",)))
    _, raw = compose(RENDERED, to="ann@example.org", options=options)
    message = message_from_bytes(raw, policy=default)
    assert message["In-Reply-To"] == "<CAF123@mail.example.org>"
    assert message["References"] == "<d1.u7@quorum.test> <CAF123@mail.example.org>"
    assert message["Subject"] == "Re: [garden] Garden day"
    assert message["Auto-Submitted"] == AUTO_REPLIED


@pytest.mark.parametrize("broken", ["<evil@x>\r\nBcc: everyone@example.org", "<a@x>\r\n Bcc: x <y@z>", "a@x", "<a b@x>", ""])
def test_an_answer_to_a_message_with_a_broken_message_id_does_not_copy_it(clean_app, broken):
    options = MailOptions().answering(Original(message_id=broken, subject="Garden day", references=(broken,)))
    _, raw = compose(RENDERED, to="ann@example.org", options=options)
    message = message_from_bytes(raw, policy=default)
    assert message["In-Reply-To"] is None and message["References"] is None and message["Bcc"] is None
