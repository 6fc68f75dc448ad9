"""A group's threads as an mbox file: read back by Python's own mailbox.mbox, every message there,
threaded by Message-ID / In-Reply-To / References, names and non-ASCII text intact; streamed; in the
group export; and only for the group's admins."""
from __future__ import annotations

import email
import email.policy
import io
import mailbox
import zipfile
from email.utils import parseaddr, parsedate_to_datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, utcnow
from app.services import discussions
from app.stewardship import mbox
from app.stewardship.export import build_zip
from tests.factories import OUTSIDER_ROLES, GroupFactory, member, person_as
from tests.helpers import post, sign_in


def read_mbox(data: bytes, tmp_path) -> list:
    path = tmp_path / "threads.mbox"
    path.write_bytes(data)
    # Headers decoded as a mail client shows them (RFC 2047 words to text).
    box = mailbox.mbox(str(path), factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default),
                       create=False)
    try:
        return [box[key] for key in box.keys()]
    finally:
        box.close()


@pytest.fixture
def garden(clean_app):
    group = GroupFactory(handle="garden", name="Gärten Club", privacy="closed")
    admin = member(group, role="admin", name="Ada Admin")
    zoe = member(group, name="Zoë Ødegård")
    first = discussions.start_thread(actor_id=admin.id, group_id=group.id, title="Beete für 2027",
                                     body="Wer übernimmt die Tomaten? 🍅")
    top = discussions.post_comment(actor_id=zoe.id, discussion_id=first.id, body="Ich! Grüße\nFrom here on, I water.")
    reply = discussions.post_comment(actor_id=admin.id, discussion_id=first.id, body="Danke", parent_id=top.id)
    gone = discussions.post_comment(actor_id=admin.id, discussion_id=first.id, body="A mistake")
    discussions.delete_comment(actor_id=admin.id, comment_id=gone.id)
    second = discussions.start_thread(actor_id=zoe.id, group_id=group.id, title="Plain ASCII", body="hello")
    deleted = discussions.start_thread(actor_id=zoe.id, group_id=group.id, title="Deleted thread", body="x")
    discussions.delete_discussion(actor_id=zoe.id, discussion_id=deleted.id)
    return {"group": group, "admin": admin, "zoe": zoe, "first": first, "top": top, "reply": reply, "second": second}


def test_every_thread_start_and_comment_is_a_message_threaded_as_a_mail_client_reads_it(garden, tmp_path):
    messages = read_mbox(b"".join(mbox.chunks(garden["group"])), tmp_path)
    first, top, reply, second = garden["first"], garden["top"], garden["reply"], garden["second"]
    by_id = {m["Message-ID"]: m for m in messages}
    assert len(messages) == 4 == len(by_id)  # the deleted comment and the deleted thread are not there

    root = by_id[f"<d{first.id}.archive@quorum.test>"]
    assert root["In-Reply-To"] is None and root["References"] is None
    assert root["Subject"] == "[garden] Beete für 2027"
    assert parseaddr(root["From"]) == ("Ada Admin", "garden@quorum.test")
    assert root.get_payload(decode=True).decode("utf-8").startswith("Wer übernimmt die Tomaten? 🍅")
    assert parsedate_to_datetime(root["Date"]) == first.created_at.replace(microsecond=0)

    comment = by_id[f"<d{first.id}.c{top.id}.archive@quorum.test>"]
    assert comment["In-Reply-To"] == root["Message-ID"]
    assert comment["References"] == root["Message-ID"]
    assert comment["Subject"] == "Re: [garden] Beete für 2027"
    assert parseaddr(str(comment["From"]))[0] == "Zoë Ødegård"
    # A line starting "From " in a comment does not split the mbox, and comes back as written.
    assert "Ich! Grüße\nFrom here on, I water." in comment.get_payload(decode=True).decode("utf-8")

    answer = by_id[f"<d{first.id}.c{reply.id}.archive@quorum.test>"]
    assert answer["In-Reply-To"] == comment["Message-ID"]
    assert answer["References"].split() == [root["Message-ID"], comment["Message-ID"]]

    other = by_id[f"<d{second.id}.archive@quorum.test>"]
    assert other["Subject"] == "[garden] Plain ASCII" and other["In-Reply-To"] is None
    for m in messages:  # proper MIME: 7-bit clean on the wire, UTF-8 declared
        assert m.get_content_charset() == "utf-8"
        assert m["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
        assert m["List-Id"] == '"Gärten Club" <garden.quorum.test>'
    raw = b"".join(mbox.chunks(garden["group"]))
    assert all(byte < 128 for byte in raw)


def test_the_mbox_is_made_message_by_message(garden):
    stream = mbox.chunks(garden["group"])
    first = next(stream)
    assert first.startswith(b"From MAILER-DAEMON ") and first.count(b"\nFrom ") == 0
    assert len(list(stream)) == 3


def test_a_deleted_member_is_named_as_such(garden, tmp_path):
    garden["zoe"].deleted_at, garden["zoe"].email, garden["zoe"].name = utcnow(), None, ""
    db.session.commit()
    names = {parseaddr(str(m["From"]))[0] for m in read_mbox(b"".join(mbox.chunks(garden["group"])), tmp_path)}
    assert names == {"Ada Admin", "deleted member"}


def test_the_group_export_holds_the_mbox(garden, tmp_path):
    files = zipfile.ZipFile(io.BytesIO(build_zip(garden["group"], actor_id=garden["admin"].id)))
    assert len(read_mbox(files.read("threads.mbox"), tmp_path)) == 4
    assert "threads.mbox" in files.read("README.txt").decode()


def test_an_admin_downloads_it_from_the_export_page_and_it_is_audited(garden, client, tmp_path):
    sign_in(client, garden["admin"])
    assert 'action="/g/garden/threads.mbox"' in client.get("/g/garden/export").get_data(as_text=True)
    response = post(client, "/g/garden/threads.mbox")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/mbox"
    assert response.headers["Content-Disposition"] == 'attachment; filename="garden-threads.mbox"'
    assert response.headers["Cache-Control"] == "no-store"
    assert len(read_mbox(response.get_data(), tmp_path)) == 4
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "group_mbox_downloaded"))
    assert entry.actor_id == garden["admin"].id and entry.group_id == garden["group"].id


@pytest.mark.parametrize("privacy", ["open", "closed", "secret"])
@pytest.mark.parametrize("role", OUTSIDER_ROLES)
def test_only_the_groups_admins_download_it(client, clean_app, role, privacy):
    group = GroupFactory(handle="club", privacy=privacy)
    author = member(group, role="admin")
    discussions.start_thread(actor_id=author.id, group_id=group.id, title="Quokka plans", body="quokka")
    person = person_as(role, group)
    if person is not None:
        sign_in(client, person)
    response = post(client, "/g/club/threads.mbox")
    if role == "admin":
        assert response.status_code == 200 and b"Quokka plans" in response.get_data()
        return
    assert response.status_code in (302, 303, 403, 404), response.status_code
    assert b"quokka" not in response.get_data().lower()
    if role == "signed_out":
        assert "/login" in response.location
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "group_mbox_downloaded")) is None
    assert client.get("/g/club/threads.mbox").status_code == 405  # a download is asked for by a form, never by GET


def test_without_csrf_nothing_is_downloaded(garden, client):
    sign_in(client, garden["admin"])
    assert client.post("/g/garden/threads.mbox").status_code == 400
