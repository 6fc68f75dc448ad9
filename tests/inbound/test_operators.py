"""Operators see held and failed mail (who, when, why — not what) and can reprocess or discard it;
`quorum mail ingest` shows what the pipeline makes of a file."""
from __future__ import annotations

import json

from app.extensions import db
from app.models import InboundMessage
from mail.processing import process_stored
from mail.store import accept
from tests.factories import UserFactory
from tests.helpers import post, sign_in

from .conftest import comments_of, reply


def held_message(scene, dns) -> InboundMessage:
    """Alice's reply, signed, but her domain's DKIM key is not published (yet): nothing proves it."""
    dns[("_dmarc.example.org", "TXT")] = ["v=DMARC1; p=reject"]
    del dns[("test._domainkey.example.org", "TXT")]
    to = scene.reply_address()
    row = accept(reply(to=to, body="The secret plan."), envelope_from="alice@example.org", recipients=[to],
                 domain="quorum.test")
    process_stored(row.id)
    db.session.expire_all()
    return db.session.get(InboundMessage, row.id)


def test_operators_see_held_mail_with_its_reason_but_not_its_content(scene, dns, client):
    row = held_message(scene, dns)
    sign_in(client, UserFactory(is_site_admin=True))
    page = client.get("/admin/mail")
    assert page.status_code == 200
    assert b"not authenticated" in page.data and b"alice@example.org" in page.data
    assert b"secret plan" not in page.data
    assert f"/admin/mail/{row.id}/reprocess".encode() in page.data


def test_members_cannot_see_the_page_or_act(scene, dns, client):
    row = held_message(scene, dns)
    sign_in(client, scene.alice)
    assert client.get("/admin/mail").status_code == 404
    assert post(client, f"/admin/mail/{row.id}/discard").status_code == 404
    db.session.expire_all()
    assert db.session.get(InboundMessage, row.id).status == "held"


def test_reprocessing_posts_the_reply_once_the_problem_is_fixed(scene, dns, client):
    row = held_message(scene, dns)
    dns.reset()  # the sender's domain publishes its DKIM key
    sign_in(client, UserFactory(is_site_admin=True))
    response = post(client, f"/admin/mail/{row.id}/reprocess")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(InboundMessage, row.id).status == "processed"
    assert comments_of(scene.thread)[-1].body == "The secret plan."


def test_discarding_keeps_the_row_and_reason_but_deletes_the_stored_copy(scene, dns, client):
    from app import storage

    row = held_message(scene, dns)
    sign_in(client, UserFactory(is_site_admin=True))
    assert post(client, f"/admin/mail/{row.id}/discard").status_code == 303
    db.session.expire_all()
    row = db.session.get(InboundMessage, row.id)
    assert row.status == "discarded" and "not authenticated" in row.reason
    assert not (storage.folder("inbound") / row.storage_key).exists()


def test_posting_without_a_csrf_token_changes_nothing(scene, dns, client):
    row = held_message(scene, dns)
    sign_in(client, UserFactory(is_site_admin=True))
    assert client.post(f"/admin/mail/{row.id}/discard").status_code == 400
    db.session.expire_all()
    assert db.session.get(InboundMessage, row.id).status == "held"


def test_ingest_dry_run_reports_class_and_body_even_for_a_refused_sender(scene, runner, tmp_path):
    to = scene.reply_address()
    path = tmp_path / "forged.eml"
    path.write_bytes(reply(to=to, sender="mallory@evil.example",
                           body="Let us sell the garden.\n\nOn Mon, Bob <bob@example.org> wrote:\n> hi\n"))
    result = runner.invoke(args=["mail", "ingest", str(path), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["class"] == "human" and data["action"] == "refused"
    assert data["body"] == "Let us sell the garden." and "does not match" in data["reason"]
    assert db.session.query(InboundMessage).count() == 0 and len(comments_of(scene.thread)) == 1


def test_ingest_stores_and_processes_a_reply(scene, runner, tmp_path):
    to = scene.reply_address()
    path = tmp_path / "reply.eml"
    path.write_bytes(reply(to=to, body="Posted from a file."))
    result = runner.invoke(args=["mail", "ingest", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["class"], data["action"], data["status"]) == ("human", "comment", "processed")
    assert comments_of(scene.thread)[-1].body == "Posted from a file."


def test_ingest_of_an_auto_reply_says_why_it_was_ignored(scene, runner, tmp_path):
    path = tmp_path / "ooo.eml"
    path.write_bytes(reply(to=scene.reply_address(), subject="Out of office: back Monday", body="I am away."))
    result = runner.invoke(args=["mail", "ingest", str(path), "--dry-run", "--json"])
    data = json.loads(result.output)
    assert data["class"] == "auto_reply" and data["action"] == "ignored" and data["body"] == "I am away."


def test_ingest_json_says_which_rule_cut_the_reply_where(scene, runner, tmp_path):
    path = tmp_path / "reply.eml"
    path.write_bytes(reply(to=scene.reply_address(), body=(
        "On Tue, Jan 9, 2024 at 10:02 AM Quorum <notifications@quorum.test> wrote:\n> Thursday or Saturday?\n\n"
        "Thursday.\n\n> Who brings the urn?\n\nI will.\n\n-- \nAnn\n")))
    data = json.loads(runner.invoke(args=["mail", "ingest", str(path), "--dry-run", "--json"]).output)
    assert data["body"] == "> Thursday or Saturday?\n\nThursday.\n\n> Who brings the urn?\n\nI will."
    assert data["cuts"] == [
        {"line": 1, "rule": "attribution", "text": "On Tue, Jan 9, 2024 at 10:02 AM Quorum <notifications@quorum.test> wrote:"},
        {"line": 10, "rule": "delimiter", "text": "--"},
    ]
