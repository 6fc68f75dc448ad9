"""Decision processes (consent, consensus, advice, gradients of agreement, the plain proposal): each poll
carries its process's options with their meanings, shown beside them on the page and in the poll's mail,
and each option is voted for by reply by its name, a unique start of it, or its number."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Poll, Stance, utcnow
from app.polls import get_type
from app.polls.base import ordered_options
from app.polls.decision_processes import PROCESSES
from app.services import polls as service
from app.services.errors import Invalid
from mail.pipeline import process as process_mail
from tests.email_actions.conftest import Members, message
from tests.helpers import post, sign_in

from .support import setup_group


@pytest.fixture
def garden(clean_app, dns) -> Members:
    return Members()


def _start(author, group, process: str, **settings) -> Poll:
    return service.create_poll(actor_id=author.id, group_id=group.id, poll_type="proposal", title=f"Try {process}",
                               closing_at=utcnow() + timedelta(days=3), process=process, **settings)


@pytest.mark.parametrize("name", list(PROCESSES))
def test_a_poll_following_a_process_has_its_options_with_their_meanings(clean_app, name):
    group, admin, _ = setup_group(1)
    poll = _start(admin, group, name)
    got = [(o.name, o.meaning) for o in ordered_options(poll)]
    assert got == [(o.name, o.meaning) for o in PROCESSES[name].options]
    assert poll.process == name and all(meaning for _, meaning in got)


def test_gradients_of_agreement_has_eight_points_from_endorsement_to_veto(clean_app):
    names = PROCESSES["gradients"].option_names()
    assert len(names) == 8 and names[0] == "Whole-hearted endorsement" and names[-1] == "Veto"


def test_a_process_a_poll_type_cannot_follow_is_a_form_error(clean_app):
    group, admin, _ = setup_group(1)
    with pytest.raises(Invalid) as refused:
        service.create_poll(actor_id=admin.id, group_id=group.id, poll_type="poll", title="Lunch",
                            closing_at=utcnow() + timedelta(days=1), options=["Soup", "Salad"], process="consent")
    assert refused.value.field == "process"
    with pytest.raises(Invalid):
        _start(admin, group, "sortition")


# (process, reply, option chosen, reason): by name, by number, by a unique start, with a reason after a colon
REPLIES = [
    ("consent", "consent", "Consent", None),
    ("consent", "3: it would exclude the night shift", "Object", "it would exclude the night shift"),
    ("consent", "Concern\n\nThe budget is tight.", "Concern", "The budget is tight."),
    ("consensus", "stand aside", "Stand aside", None),
    ("consensus", "4", "Block", None),
    ("consensus", "agree: let's go", "Agree", "let's go"),
    ("advice", "go ahead with advice: ask the neighbours first", "Go ahead with advice", "ask the neighbours first"),
    ("advice", "go ahead", "Go ahead", None),
    ("advice", "no adv", "No advice", None),
    ("gradients", "6", "Don't like but will support", None),
    ("gradients", "veto: this breaks our lease", "Veto", "this breaks our lease"),
    ("gradients", "More discussion needed", "More discussion needed", None),
    ("gradients", "whole-hearted", "Whole-hearted endorsement", None),
    ("proposal", "agree", "Agree", None),
]


@pytest.mark.parametrize(("name", "reply", "chosen", "reason"), REPLIES, ids=[f"{r[0]}: {r[1].splitlines()[0]}" for r in REPLIES])
def test_each_process_option_is_voted_for_by_reply(garden, outbox, name, reply, chosen, reason):
    poll = garden.poll("proposal", process=name)
    to = garden.address(garden.dee, "poll", poll.id)
    outcome = process_mail(message(sender="dee@example.org", to=to, body=reply + "\n"), envelope_from="dee@example.org",
                           recipients=[to])
    assert (outcome.status, outcome.action) == ("processed", "vote"), outcome.reason
    db.session.expire_all()
    stance = db.session.scalar(select(Stance).where(Stance.poll_id == poll.id, Stance.latest.is_(True)))
    names = {o.id: o.name for o in poll.options}
    assert [names[i] for i, v in stance.choices.items() if v] == [chosen] and stance.reason == reason
    assert f'Your vote in "{poll.title}" was recorded' in outbox.last_to("dee@example.org").text


def test_an_ambiguous_start_is_explained_with_the_candidates_and_numbers(clean_app):
    group, admin, _ = setup_group(1)
    poll = _start(admin, group, "gradients")
    kind = get_type("proposal")
    from app.polls import VoteError

    with pytest.raises(VoteError) as unclear:
        kind.parse_vote_text(poll, "s")  # Support with reservations, or Serious disagreement
    text = str(unclear.value)
    assert "Support with reservations" in text and "Serious disagreement" in text and "8. Veto" in text


def test_the_poll_mail_shows_each_meaning_beside_its_option_and_the_processes_prompt(garden, outbox):
    poll = garden.poll("proposal", process="consent", title="Adopt the new rota")
    mail = outbox.last_to("dee@example.org")
    text = mail.text.replace("\r\n", "\n")
    assert "Consent decision: Adopt the new rota" in mail.subject
    assert "1. Consent\n     (It's good enough for now and safe enough to try.)" in text
    assert "3. Object\n     (I see harm to the group or its aims" in text
    assert PROCESSES["consent"].prompt in text
    assert "— I see harm to the group or its aims" in mail.html
    assert poll.options  # the same poll the page shows


def test_the_page_shows_each_meaning_beside_its_option_and_the_prompt(client, clean_app):
    group, admin, people = setup_group(1)
    poll = _start(admin, group, "advice")
    sign_in(client, people[0])
    page = client.get(f"/p/{poll.id}").get_data(as_text=True)
    assert "Advice process" in page and PROCESSES["advice"].prompt in page
    for option in PROCESSES["advice"].options:
        assert re.search(rf'aria-describedby="(meaning-\d+)"> {re.escape(option.name)}</label> <span class="meaning meta" '
                         rf'id="\1">— {re.escape(option.meaning)}</span>', page.replace("&#39;", "'"))
    go_ahead = next(o for o in poll.options if o.name == "Go ahead")
    assert post(client, f"/p/{poll.id}/vote", {"option": str(go_ahead.id), "reason": "Fine by me"}).status_code == 303
    assert "Go ahead" in client.get(f"/p/{poll.id}").get_data(as_text=True)


def test_starting_a_process_from_the_form_without_javascript(client, clean_app):
    group, admin, _ = setup_group(1)
    sign_in(client, admin)
    form = client.get(f"/g/{group.handle}/p/new?type=proposal&process=consensus").get_data(as_text=True)
    assert '<option value="consensus" selected>Consensus decision</option>' in form
    assert "Stand aside</strong>: I won" in form.replace("&#39;", "'")
    closing = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    answer = post(client, f"/g/{group.handle}/p/new", {"poll_type": "proposal", "process": "consensus",
                                                        "title": "Paint the hall", "closing_at": closing})
    assert answer.status_code == 303
    poll = db.session.scalar(select(Poll).where(Poll.title == "Paint the hall"))
    assert poll.process == "consensus" and [o.name for o in ordered_options(poll)][1] == "Stand aside"
    refused = post(client, f"/g/{group.handle}/p/new", {"poll_type": "proposal", "process": "nonsense",
                                                         "title": "Paint the shed", "closing_at": closing})
    assert refused.status_code == 422 and "Please choose one of the decision processes." in refused.get_data(as_text=True)
