"""Thread and poll templates: the built-in ones and a group's own (made from a thread or a poll, or added),
offered when starting a thread or a poll (choosing one fills in the form), and hidden, shown, moved up or
down and deleted by the group's admins with plain forms (no JavaScript)."""
from __future__ import annotations

import re
from html import unescape
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Template, utcnow
from app.services import discussions
from app.services import polls as service
from tests.helpers import post, sign_in

from .support import setup_group

BUILT_IN = ["Meeting agenda", "Decision", "Retrospective", "Quick check", "Consent decision", "Consensus decision",
            "Advice process", "Gradients of agreement"]


def _listed(client, handle: str) -> list[str]:
    page = client.get(f"/g/{handle}/templates").get_data(as_text=True)
    return re.findall(r'<li id="template-[^"]+"><strong>([^<]+)</strong>', page)


def test_a_group_starts_with_the_built_in_templates_and_starting_a_thread_offers_them(client, clean_app):
    group, admin, people = setup_group(1)
    sign_in(client, admin)
    assert _listed(client, group.handle) == BUILT_IN
    sign_in(client, people[0])
    new = client.get(f"/g/{group.handle}/d/new").get_data(as_text=True)
    assert "Meeting agenda</a>" in new and "Retrospective</a>" in new and "Consent decision" not in new
    filled = client.get(f"/g/{group.handle}/d/new?template=meeting-agenda").get_data(as_text=True)
    assert 'value="Meeting agenda: "' in filled and "## Agenda" in filled
    assert client.get(f"/g/{group.handle}/d/new?template=nope").status_code == 404


def test_starting_a_poll_offers_poll_templates_and_a_process_template_fills_the_form(client, clean_app):
    group, admin, people = setup_group(1)
    sign_in(client, people[0])
    chooser = client.get(f"/g/{group.handle}/p/new").get_data(as_text=True)
    for name in ("Decision", "Quick check", "Consent decision", "Gradients of agreement"):
        assert f"<strong>{name}</strong>" in chooser
    assert "Meeting agenda" not in chooser
    form = client.get(f"/g/{group.handle}/p/new?template=consent").get_data(as_text=True)
    assert '<input type="hidden" name="poll_type" value="proposal">' in form
    assert '<option value="consent" selected>Consent decision</option>' in form and 'value="Consent: "' in form
    quick = client.get(f"/g/{group.handle}/p/new?template=quick-check").get_data(as_text=True)
    assert '<input type="hidden" name="poll_type" value="check">' in quick


def test_an_admin_saves_a_thread_and_a_poll_as_templates_and_members_start_from_them(client, clean_app):
    group, admin, people = setup_group(1)
    thread = discussions.start_thread(actor_id=admin.id, group_id=group.id, title="Monthly tidy-up",
                                      body="Bring gloves.\n\n- Bins\n- Shed")
    poll = service.create_poll(actor_id=admin.id, group_id=group.id, poll_type="poll", title="Which day?",
                               details="Pick one", closing_at=utcnow() + timedelta(days=2), options=["Sat", "Sun"])
    sign_in(client, admin)
    assert 'action="/d/%d/save-template"' % thread.id in client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert post(client, f"/d/{thread.id}/save-template").status_code == 303
    assert post(client, f"/p/{poll.id}/save-template").status_code == 303
    assert _listed(client, group.handle) == BUILT_IN + ["Monthly tidy-up", "Which day?"]
    own = {t.name: t for t in db.session.scalars(select(Template).where(Template.group_id == group.id))}
    sign_in(client, people[0])
    thread_form = client.get(f"/g/{group.handle}/d/new?template={own['Monthly tidy-up'].id}").get_data(as_text=True)
    assert 'value="Monthly tidy-up"' in thread_form and "Bring gloves." in thread_form
    poll_form = client.get(f"/g/{group.handle}/p/new?template={own['Which day?'].id}").get_data(as_text=True)
    assert '<input type="hidden" name="poll_type" value="poll">' in poll_form and "Sat\nSun</textarea>" in poll_form
    # A member may not save templates; the thread page offers them no button.
    assert "save-template" not in client.get(f"/d/{thread.id}").get_data(as_text=True)
    assert post(client, f"/d/{thread.id}/save-template").status_code == 403
    assert post(client, f"/p/{poll.id}/save-template").status_code == 403


def test_admins_hide_show_reorder_add_and_delete_templates_with_plain_forms(client, clean_app):
    group, admin, people = setup_group(1)
    sign_in(client, admin)
    base = f"/g/{group.handle}/templates"
    assert post(client, f"{base}/retrospective/up").status_code == 303
    assert _listed(client, group.handle)[:3] == ["Meeting agenda", "Retrospective", "Decision"]
    assert post(client, f"{base}/meeting-agenda/up").status_code == 303  # already first: it stays
    assert post(client, f"{base}/gradients/down").status_code == 303  # already last: it stays
    assert _listed(client, group.handle)[0] == "Meeting agenda" and _listed(client, group.handle)[-1] == "Gradients of agreement"
    assert post(client, f"{base}/meeting-agenda/hide").status_code == 303
    page = client.get(base).get_data(as_text=True)
    assert "<strong>hidden</strong>" in page and f'action="{base}/meeting-agenda/show"' in page
    sign_in(client, people[0])
    assert "Meeting agenda" not in client.get(f"/g/{group.handle}/d/new").get_data(as_text=True)
    sign_in(client, admin)
    assert post(client, f"{base}/meeting-agenda/show").status_code == 303
    added = post(client, base, {"kind": "poll", "name": "Pizza order", "title": "Pizza?", "details": "",
                                "poll_type": "poll", "process": "", "options": "Margherita\nFunghi"})
    assert added.status_code == 303 and _listed(client, group.handle)[-1] == "Pizza order"
    row = db.session.scalar(select(Template).where(Template.name == "Pizza order"))
    assert row.options == ["Margherita", "Funghi"]
    assert post(client, f"{base}/{row.id}/up").status_code == 303
    assert _listed(client, group.handle)[-2:] == ["Pizza order", "Gradients of agreement"]
    bad = post(client, base, {"kind": "poll", "name": "", "poll_type": "poll"})
    assert bad.status_code == 422 and "Please give the template a name." in bad.get_data(as_text=True)
    wrong = post(client, base, {"kind": "poll", "name": "Odd", "poll_type": "poll", "process": "consent"})
    assert wrong.status_code == 422 and "can't follow the consent decision" in unescape(wrong.get_data(as_text=True))
    assert post(client, f"{base}/decision/delete").status_code == 403  # a built-in one is only hidden
    assert post(client, f"{base}/{row.id}/delete").status_code == 303
    assert "Pizza order" not in _listed(client, group.handle)
    assert post(client, f"{base}/{row.id}/hide").status_code == 404
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.group_id == group.id)))
    assert {"template_hidden", "template_shown", "template_added", "template_deleted"} <= actions


def test_only_admins_see_or_change_a_groups_templates(client, clean_app):
    group, admin, people = setup_group(1)
    other, other_admin, _ = setup_group(0)
    sign_in(client, people[0])
    assert client.get(f"/g/{group.handle}/templates").status_code == 404
    assert post(client, f"/g/{group.handle}/templates/decision/hide").status_code == 404
    assert post(client, f"/g/{group.handle}/templates", {"kind": "thread", "name": "Mine"}).status_code == 404
    sign_in(client, other_admin)  # an admin of another group
    assert post(client, f"/g/{group.handle}/templates/decision/hide").status_code == 404
    sign_in(client, admin)
    assert len(_listed(client, group.handle)) == len(BUILT_IN)
    assert db.session.scalar(select(Template.id).where(Template.hidden.is_(True))) is None
