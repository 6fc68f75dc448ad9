"""Review findings 14, 15, 17 and 19: spreadsheet formulas, control characters in names, the
instance folder's permissions, bidirectional overrides in file names."""
from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Attachment, Group, User
from app.services import accounts, discussions, groups
from app.services.attachments import safe_filename
from app.spreadsheets import FORMULA_STARTS
from app.stewardship.export import to_csv
from tests.decisions.support import make_poll, setup_group
from tests.factories import GroupFactory, member
from tests.helpers import sign_in

REPO = Path(__file__).resolve().parents[2]
FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
            "\t=1+1", "\r=1+1"]


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_no_csv_cell_starts_a_formula(client):
    group, admin, people = setup_group(1)
    poll = make_poll("poll", admin, group, title=FORMULAS[0], options=FORMULAS[1:4])
    from app.services import polls as service

    service.close_poll(actor_id=admin.id, poll_id=poll.id)
    sign_in(client, admin)
    cells = _cells(client.get(f"/p/{poll.id}/results.csv").text)
    assert any("HYPERLINK" in c for c in cells)
    assert not any(c.startswith(FORMULA_STARTS) for c in cells), [c for c in cells if c.startswith(FORMULA_STARTS)]
    exported = _cells(to_csv([{"title": f, "n": -3, "score": "-2"} for f in FORMULAS]))
    assert not any(c.startswith(FORMULA_STARTS) for c in exported if c not in ("-3", "-2"))


NAMES = ["Eve\r\nBcc: all@example.org", "Eve\x1b[31m", "Eve\u202eevE", "Eve\x00", "  Eve\tSmith  "]


@pytest.mark.parametrize("raw", NAMES)
def test_name_like_fields_lose_control_characters_at_the_service(clean_app, raw):
    group = GroupFactory(handle="town", privacy="open")
    user = member(group, role="admin")
    accounts.update_profile(user_id=user.id, name=raw, time_zone="UTC", locale="en")
    thread = discussions.start_thread(actor_id=user.id, group_id=group.id, title=raw, body="")
    other = groups.create_group(actor_id=user.id, name=raw, handle="town2")
    poll = make_poll("poll", user, group, title=raw, options=[raw + " A", raw + " B"])
    db.session.expire_all()
    values = [db.session.get(User, user.id).name, thread.title, db.session.get(Group, other.id).name, poll.title,
              *[o.name for o in poll.options]]
    for value in values:
        assert not any(ord(ch) < 32 or ch in "\x7f\u202e" for ch in value), repr(value)
        assert value == value.strip() and "  " not in value


def test_a_name_with_a_line_break_does_not_break_notifications(clean_app, outbox):
    group = GroupFactory(handle="town", privacy="open")
    eve = member(group, role="admin")
    member(group, email="bob@example.org")
    accounts.update_profile(user_id=eve.id, name="Eve\r\nBcc: all@example.org", time_zone="UTC", locale="en")
    discussions.start_thread(actor_id=eve.id, group_id=group.id, title="Hello", body="")
    mail = outbox.last_to("bob@example.org")
    assert "Bcc" not in [key.lower().title() for key in mail.parsed.message.keys()]


def test_file_names_lose_bidirectional_overrides(clean_app):
    assert safe_filename("invoice\u202efdp.exe") == "invoicefdp.exe"
    assert safe_filename("a\u2066b\u2069.pdf") == "ab.pdf"
    group = GroupFactory(handle="town", privacy="open")
    ann = member(group, role="admin")
    discussions.start_thread(actor_id=ann.id, group_id=group.id, title="Files", body="",
                             files=[("report\u202eFDP.pdf", b"%PDF-1.4 the report")])
    assert all("\u202e" not in name for name in db.session.scalars(db.select(Attachment.filename)))


def test_the_instance_folder_is_private_whatever_the_umask(tmp_path):
    instance = tmp_path / "instance"
    script = ("import os; os.umask(0o022); from app import create_app; "
              "from flask_migrate import upgrade; app = create_app({'QUORUM_DEMO': False}); "
              "ctx = app.app_context(); ctx.push(); upgrade(); "
              "open(os.path.join(app.config['QUORUM_INSTANCE'], 'outbox.eml'), 'w').write('x')")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(QUORUM_INSTANCE=str(instance), PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, check=True, timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    files = [p for p in instance.rglob("*") if p.is_file()]
    assert any(p.name == "quorum.db" for p in files) and any(p.name == "secret_key" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))
