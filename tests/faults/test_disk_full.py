"""The files folder fills up (a 1 MB tmpfs mounted over it): the SMTP server answers 452 and keeps
running, an upload gets a clear form error with the comment kept in the form, nothing partial is
left on disk, and once there is room again mail and uploads work without a restart."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.email.addresses import reply_address
from app.extensions import db
from app.models import Attachment, Comment, InboundMessage
from tests.factories import DiscussionFactory, GroupFactory, member
from tests.inbound.conftest import reply


@pytest.fixture
def small_files_folder(tmp_path):
    """Mount a 1 MB tmpfs where the instance keeps its files (root only; skipped otherwise)."""
    folder = tmp_path / "instance0" / "files"
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def _fill(folder: Path) -> Path:
    """Take every free byte of the folder's file system."""
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def _files(folder: Path, namespace: str) -> list[Path]:
    path = folder / namespace
    return sorted(path.iterdir()) if path.exists() else []


def test_a_full_files_folder_refuses_for_now_and_loses_nothing(small_files_folder, fault_stack, browser):
    stack = fault_stack()
    assert stack.folder / "files" == small_files_folder
    with stack.in_app():
        group = GroupFactory(handle="garden", name="Garden")
        alice = member(group, email="alice@example.org", name="Alice")
        thread = DiscussionFactory(group=group, author=alice, title="Garden day")
        to = reply_address(alice, "discussion", thread.id)
        thread_id = thread.id
    stack.start("web", "smtp", "worker")
    page = stack.browser_page(browser, "alice@example.org", js=False)

    filler = _fill(small_files_folder)
    raw = reply(to=to, body="Mailed while the disk was full.\n" + "padding line\n" * 200)
    code, text = stack.send_mail(raw, "alice@example.org", to)
    assert code == 452, text
    assert stack.process("smtp").poll() is None, "the SMTP server keeps running"

    page.goto(f"/d/{thread_id}")
    page.get_by_label("Your comment").fill("A photo of the beds.")
    page.get_by_label("Attach files (optional)").set_input_files(
        files=[{"name": "beds.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 200_000}])
    page.get_by_role("button", name="Post comment").click()
    assert page.get_by_text("the server has run out of disk space").first.is_visible()
    assert page.get_by_label("Your comment").input_value() == "A photo of the beds."  # nothing typed is lost
    with stack.in_app():
        assert db.session.scalar(select(func.count(Comment.id))) == 0
        assert db.session.scalar(select(func.count(Attachment.id))) == 0
        assert db.session.scalar(select(func.count(InboundMessage.id))) == 0
    assert _files(small_files_folder, "inbound") == [] and _files(small_files_folder, "attachments") == []

    filler.unlink()  # room again: no restart needed
    code, text = stack.send_mail(raw, "alice@example.org", to)
    assert code == 250, text
    page.get_by_label("Attach files (optional)").set_input_files(
        files=[{"name": "beds.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 200_000}])
    page.get_by_role("button", name="Post comment").click()
    page.wait_for_url(f"**/d/{thread_id}**")
    with stack.in_app():
        assert db.session.scalar(select(func.count(Attachment.id))) == 1
        assert db.session.scalar(select(func.count(InboundMessage.id))) == 1
    assert len(_files(small_files_folder, "attachments")) == 1 and len(_files(small_files_folder, "inbound")) == 1
    page.context.close()
