"""Export and import: a group leaves one Quorum and arrives in another with nothing lost."""
from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Group, GroupExport, User, utcnow
from app.stewardship.export import build_zip
from app.stewardship.importer import import_zip
from app.stewardship.schema import NOT_EXPORTED, NOT_IMPORTED, REDACTED, TABLES, USER_COLUMNS
from tests.conftest import _truncate_all
from tests.helpers import post, sign_in

from .conftest import ATTACHMENT_BYTES


def unzip(data: bytes) -> tuple[dict, dict[str, bytes]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files["quorum.json"]), files


def normalise(export: dict, files: dict[str, bytes]) -> dict:
    """The content with ids replaced by positions (and people by email), for comparing two exports."""
    tables = export["tables"]
    positions = {name: {row["id"]: i for i, row in enumerate(rows) if row.get("id") is not None}
                 for name, rows in tables.items()}
    people = {u["id"]: u["email"] or f"deleted#{i}" for i, u in enumerate(tables["users"])}
    fk = {}
    for name in tables:
        table = db.metadata.tables[name]
        for column in table.columns:
            for key in column.foreign_keys:
                fk[(name, column.name)] = key.column.table.name
    targets = {"discussion": "discussions", "comment": "comments", "poll": "polls"}
    out = {}
    for name, rows in tables.items():
        if name in NOT_IMPORTED:
            continue
        normal = []
        for row in rows:
            row = dict(row)
            for column, value in list(row.items()):
                target = fk.get((name, column))
                if name == "versions" and column == "item_id":
                    target = targets[row["item_type"]]
                if column == "id":
                    row[column] = people.get(value) if name == "users" else positions[name].get(value)
                elif target == "users":
                    row[column] = people.get(value)
                elif target and value is not None:
                    row[column] = positions.get(target, {}).get(value, "outside")
            row.pop("storage_key", None)
            row.pop("path", None)
            if name == "audit_logs" and row.get("action") == "group_imported":
                continue
            normal.append(row)
        out[name] = normal
    # People mentioned only by records that stay with the old host (its operators) do not move.
    mentioned = {v for name, rows in out.items() if name != "users" for row in rows for k, v in row.items()
                 if fk.get((name, k)) == "users"}
    out["users"] = [u for u in out["users"] if u["id"] in mentioned]
    out["attachments_files"] = sorted(content for path, content in files.items() if path.startswith("attachments/"))
    return out


def test_every_table_is_exported_or_excluded_with_a_reason(app):
    tables = set(db.metadata.tables)
    covered = set(TABLES) | set(NOT_EXPORTED)
    assert tables - covered == set(), "new tables must be added to app/stewardship/schema.py (TABLES or NOT_EXPORTED)"
    assert covered - tables == set()


def test_every_column_of_every_exported_table_is_in_the_export(rich_group):
    export, _files = unzip(build_zip(rich_group["group"], actor_id=rich_group["admin"].id))
    for name in TABLES:
        rows = export["tables"][name]
        assert rows, f"the test group has no {name}: extend tests/stewardship/conftest.py"
        expected = set(USER_COLUMNS) if name == "users" else {
            c.name for c in db.metadata.tables[name].columns} - set(REDACTED.get(name, {}))
        assert expected <= set(rows[0]), f"{name} is missing {expected - set(rows[0])}"


def test_export_import_export_gives_the_same_content(rich_group, clean_app):
    group = rich_group["group"]
    first_zip = build_zip(group, actor_id=rich_group["admin"].id)
    first = unzip(first_zip)
    # Another instance: an empty database and no files.
    db.session.remove()
    _truncate_all(db)
    shutil.rmtree(Path(clean_app.config["QUORUM_INSTANCE"]) / "files", ignore_errors=True)

    imported = import_zip(first_zip)
    assert imported.handle == "allotments"
    second = unzip(build_zip(imported, actor_id=db.session.scalar(
        db.select(User.id).where(User.email == "ada@example.org"))))

    assert normalise(*second) == normalise(*first)
    assert ATTACHMENT_BYTES in normalise(*second)["attachments_files"]
    # Members arrive unverified until they sign in here; the deleted-member placeholder stays deleted.
    bea = db.session.scalar(db.select(User).where(User.email == "bea@example.org"))
    assert bea.email_verified_at is None and bea.name == "Bea Builder"


def test_import_into_an_instance_that_already_has_the_members_matches_them_by_email(rich_group):
    data = build_zip(rich_group["group"])
    users_before = db.session.scalar(db.select(db.func.count(User.id)))
    copy = import_zip(data, handle="allotments-copy")
    assert db.session.scalar(db.select(db.func.count(User.id))) == users_before
    assert {m.user.email for m in copy.memberships} == {m.user.email for m in rich_group["group"].memberships}


def test_an_import_with_a_taken_handle_is_refused_with_a_clear_message(rich_group):
    from app.services.errors import Invalid

    with pytest.raises(Invalid, match="taken"):
        import_zip(build_zip(rich_group["group"]))


def test_a_damaged_attachment_stops_the_import_and_leaves_nothing_behind(rich_group):
    from app.services.errors import Invalid

    export, files = unzip(build_zip(rich_group["group"]))
    path = next(p for p in files if p.endswith("minutes_2026.pdf"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, b"tampered" if name == path else content)
    groups_before = db.session.scalar(db.select(db.func.count(Group.id)))
    with pytest.raises(Invalid, match="damaged"):
        import_zip(buffer.getvalue(), handle="tampered")
    assert db.session.scalar(db.select(db.func.count(Group.id))) == groups_before


def test_anonymous_votes_stay_anonymous_in_json_csv_and_archive(rich_group):
    export, files = unzip(build_zip(rich_group["group"], actor_id=rich_group["admin"].id))
    anonymous = {rich_group["anon_closed"].id, rich_group["anon_open"].id}
    stances = [s for s in export["tables"]["stances"] if s["poll_id"] in anonymous]
    assert stances and all(s["participant_id"] is None and s["created_at"] is None for s in stances)
    assert all(p["id"] is None for p in export["tables"]["participations"] if p["poll_id"] in anonymous)
    rows = list(csv.DictReader(io.StringIO(files["csv/stances.csv"].decode())))
    assert all(r["participant_id"] == "" for r in rows if int(r["poll_id"]) in anonymous)
    html = files["archive.html"].decode()
    section = html[html.index("Secret ballot on fees"):]
    section = section[:section.index("</section>")]
    assert "anonymous" in section and "Cy Secret" not in section and "Fees are too high already" in section
    open_section = html[html.index("Anonymous poll on the chair"):]
    assert "Cy Secret" not in open_section[:open_section.index("</section>")]


def test_results_hidden_until_closing_are_not_exported_while_the_poll_is_open(rich_group):
    export, files = unzip(build_zip(rich_group["group"], actor_id=rich_group["admin"].id))
    hidden = rich_group["hidden"].id
    stance_ids = {s["id"] for s in export["tables"]["stances"] if s["poll_id"] == hidden}
    assert stance_ids, "the vote itself (that someone voted) is still there"
    assert not [c for c in export["tables"]["stance_choices"] if c["stance_id"] in stance_ids]
    assert "reason that reveals my choice" not in files["quorum.json"].decode()
    assert "reason that reveals my choice" not in files["archive.html"].decode()
    assert "Results are hidden until this decision closes" in files["archive.html"].decode()


def test_the_zip_holds_json_csv_per_table_archive_and_decrypted_attachments(rich_group):
    export, files = unzip(build_zip(rich_group["group"]))
    assert export["format"] == "quorum-group-export" and export["version"] == 1
    for name in TABLES:
        assert f"csv/{name}.csv" in files
    assert ATTACHMENT_BYTES in files.values()
    html = files["archive.html"].decode()
    assert "Shed roof" in html and "I can fix it on Saturday." in html and "We paint it green." in html
    assert 'Shed roof</a> <span class="meta">(3 comments)</span>' in html  # the reply counts too
    assert "<script" not in html and "http://" not in html.replace("https://example.org/plots", "")
    assert 'src="http' not in html and 'href="http' not in html


def test_admin_exports_from_the_page_and_downloads_from_the_emailed_link(rich_group, client, outbox):
    admin, group = rich_group["admin"], rich_group["group"]
    sign_in(client, admin)
    page = client.get("/g/allotments/export")
    assert page.status_code == 200 and "Start an export" in page.text
    response = post(client, "/g/allotments/export")
    assert response.status_code == 303
    status_url = response.headers["Location"]
    status = client.get(status_url)
    assert "Your export is ready" in status.text
    fragment = client.get(status_url, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="export-progress"') and "<html" not in fragment.text
    mail = outbox.last_to("ada@example.org")
    assert "ready" in mail.subject
    link = next(l for l in mail.links() if "/exports/" in l)
    download = client.get(link.replace("http://localhost", ""))
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert unzip(download.data)[0]["group_handle"] == "allotments"
    row = db.session.scalar(db.select(GroupExport))
    assert row.expires_at - row.finished_at == timedelta(days=7)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = client.get(link.replace("http://localhost", ""))
    assert expired.status_code == 410 and "expired" in expired.text


def test_a_member_who_is_not_an_admin_cannot_export_or_use_the_link(rich_group, client):
    sign_in(client, rich_group["bea"])
    assert client.get("/g/allotments/export").status_code == 404
    assert post(client, "/g/allotments/export").status_code == 404


def test_export_and_import_commands(rich_group, runner, tmp_path):
    out = tmp_path / "allotments.zip"
    result = runner.invoke(args=["export", "group", "allotments", str(out)])
    assert result.exit_code == 0, result.output
    assert zipfile.is_zipfile(out)
    result = runner.invoke(args=["import", str(out), "--handle", "allotments-2"])
    assert result.exit_code == 0, result.output
    assert "Imported group allotments-2" in result.output
    result = runner.invoke(args=["import", str(out)])
    assert result.exit_code != 0 and "taken" in result.output


def test_operator_imports_through_the_upload_page(rich_group, client):
    data = build_zip(rich_group["group"])
    sign_in(client, rich_group["operator"])
    assert client.get("/admin/import").status_code == 200
    response = post(client, "/admin/import", {"file": (io.BytesIO(data), "export.zip"), "handle": "plots"},
                    content_type="multipart/form-data")
    assert response.status_code == 303 and response.headers["Location"] == "/g/plots"
    bad = post(client, "/admin/import", {"file": (io.BytesIO(b"not a zip"), "x.zip")},
               content_type="multipart/form-data")
    assert bad.status_code == 422 and "not a Quorum group export" in bad.text
    sign_in(client, rich_group["bea"])
    assert client.get("/admin/import").status_code == 404
