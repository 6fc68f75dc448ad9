"""The bench's repeat visit sends back what the first answer set, as a browser does."""
from bench.web import with_set_cookies


def test_the_repeat_visit_sends_the_cookie_the_first_answer_set():
    sent = with_set_cookies("session=old; lang=de",
                            "session=new.abc-1; Expires=Mon, 07 Dec 2026 10:00:00 GMT; HttpOnly; Path=/, seen=1; Path=/")
    assert sent == "session=new.abc-1; lang=de; seen=1"
    assert with_set_cookies("session=old", "") == "session=old"
