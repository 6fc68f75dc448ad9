"""A reply written on a phone, in French, Portuguese or English, is posted without the line the
phone added under it; a sentence that only mentions where something was sent from is kept."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Comment

from .conftest import message

IPHONE_FR = """Je viens samedi, avec deux bêches.

Envoyé de mon iPhone

Le 7 janv. 2025 à 09:00, Bob via Garden <notifications@quorum.test> a écrit :
> Qui vient samedi ?
"""


@pytest.mark.parametrize("body, posted", [
    (IPHONE_FR, "Je viens samedi, avec deux bêches."),
    ("Vou no sábado.\n\nEnviado do meu iPhone\n", "Vou no sábado."),
    ("Count me in.\n\nSent from Outlook for Android\n", "Count me in."),
    ("The seeds were sent from my sister's farm.\n", "The seeds were sent from my sister's farm."),
])
def test_a_reply_from_a_phone_is_posted_without_its_sign_off(garden, send, body, posted):
    to = garden.address(garden.dee, "discussion", garden.thread.id)
    row = send(message(sender="Dee <dee@example.org>", to=to, body=body), to=to, envelope_from="dee@example.org")
    assert (row.status, row.action) == ("processed", "comment")
    assert db.session.scalar(select(Comment.body).where(Comment.discussion_id == garden.thread.id)) == posted
