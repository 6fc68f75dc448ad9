"""The plain-text part of every kind of mail reads as paragraphs: the greeting on its own line
with a blank line after it, and a blank line between one paragraph and the next.

The kinds are the folders of templates/email; each is made the way members get it (the services,
the inbound pipeline from a DKIM-signed message, the jobs) and read back from the outbox. A new
kind without a way to make it here fails the test."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from app.email import messages
from app.email.addresses import reply_address
from app.extensions import db
from app.services import accounts, discussions, invitations, memberships
from app.services import polls as poll_service
from app.services.digests import run_due
from mail.processing import process_stored
from mail.store import accept
from tests.email_actions.conftest import message
from tests.factories import DiscussionFactory, GroupFactory, MembershipFactory, UserFactory, member

REPO = Path(__file__).resolve().parents[2]
KINDS = sorted(p.name for p in (REPO / "templates/email").iterdir() if p.is_dir() and not p.name.startswith("_"))


class Club:
    """The Garden Club: Maya (admin), Noah and Lena; a thread by Noah; an open proposal by Maya."""

    def __init__(self):
        self.group = GroupFactory(handle="garden", name="Garden Club")
        self.maya = member(self.group, role="admin", name="Maya Cohen", email="maya@example.org")
        self.noah = member(self.group, name="Noah Berg", email="noah@example.org")
        self.lena = member(self.group, name="Lena Park", email="lena@example.org")
        self.thread = DiscussionFactory(group=self.group, author=self.noah, title="Compost bins",
                                        body="Shall we buy two?\n\nThe old one leaks.")
        self.poll = poll_service.create_poll(
            actor_id=self.maya.id, poll_type="proposal", discussion_id=self.thread.id, title="Buy two bins",
            details="About 80 euros each.", closing_at=datetime.now(timezone.utc) + timedelta(days=3))

    def reply(self, user, kind: str, target_id: int, body: str, subject: str = "Re: [garden] Compost bins",
              signed: bool = True):
        """Send `body` as `user` replying to `kind`/`target_id`, through the stored-message path."""
        to = reply_address(user, kind, target_id)
        raw = message(sender=f"{user.name} <{user.email}>", to=to, body=body, subject=subject, signed=signed)
        row = accept(raw, envelope_from=user.email, recipients=[to])
        process_stored(row.id)
        return row


def _events(club: Club) -> None:
    discussions.start_thread(actor_id=club.maya.id, group_id=club.group.id, title="Seed swap",
                             body="Bring seeds.\n\nAny kind will do.")
    discussions.post_comment(actor_id=club.lena.id, discussion_id=club.thread.id, body="Yes, two.\n\nOne for leaves.")
    poll_service.remind(actor_id=club.maya.id, poll_id=club.poll.id, message="Only two days left.")
    poll_service.cast_vote(actor_id=club.noah.id, poll_id=club.poll.id,
                           choices={_option(club.poll, "Agree"): 1}, reason="Cheap enough.")
    poll_service.send_closing_soon(now=club.poll.closing_at - timedelta(hours=12))
    poll_service.close_poll(actor_id=club.maya.id, poll_id=club.poll.id)
    poll_service.set_outcome(actor_id=club.maya.id, poll_id=club.poll.id, statement="We buy two bins.\n\nNoah orders.")
    poll_service.set_review(actor_id=club.maya.id, poll_id=club.poll.id,
                            review_at=datetime.now(timezone.utc) + timedelta(days=30))
    poll_service.send_outcome_reviews(now=datetime.now(timezone.utc) + timedelta(days=31))  # outcome_review_due


def _option(poll, name: str) -> int:
    return next(o.id for o in poll.options if o.name == name)


def _answers(club: Club) -> None:
    shed = poll_service.create_poll(actor_id=club.maya.id, poll_type="proposal", discussion_id=club.thread.id,
                                    title="Paint the shed", closing_at=datetime.now(timezone.utc) + timedelta(days=3))
    club.reply(club.noah, "poll", shed.id, "agree\n\nIt is peeling.")  # vote_recorded
    colours = poll_service.create_poll(actor_id=club.maya.id, poll_type="poll", group_id=club.group.id,
                                       title="Shed colour", options=["Green", "Grey"],
                                       closing_at=datetime.now(timezone.utc) + timedelta(days=3))
    poll_service.cast_vote(actor_id=club.noah.id, poll_id=colours.id, choices={_option(colours, "Green"): 1})
    poll_service.edit_poll(actor_id=club.maya.id, poll_id=colours.id, title=colours.title, details="",
                           closing_at=colours.closing_at, options=poll_service.OptionEdits(
                               renames={}, additions=("Blue",)))  # poll_edited
    club.reply(club.noah, "discussion", club.thread.id, "help")  # help
    club.reply(club.lena, "discussion", club.thread.id, "mute")  # command_done
    club.reply(club.lena, "comment", 10**6, "Hello?")  # inbound_refused: no such comment
    club.reply(club.noah, "discussion", club.thread.id, "Unsigned words.", signed=False)  # sender_confirmation
    stranger = message(sender="Stranger <stranger@example.org>", to="garden@quorum.test", body="Hi there.",
                       subject="Selling seeds")
    row = accept(stranger, envelope_from="stranger@example.org", recipients=["garden@quorum.test"])
    process_stored(row.id)  # held_for_approval


def _accounts(club: Club) -> None:
    accounts.request_sign_in(email=club.lena.email)
    db.session.commit()  # as the sign-in page does
    from app.services import addresses

    addresses.request_proof(user_id=club.lena.id, email="lena@work.example.org", purpose="alias")
    messages.address_changed(user=club.noah, old="noah@old.example.org", new=club.noah.email, change_id=1)
    messages.alias_cut_off(user=club.noah, alias="noah@shared.example.org", alias_id=1)
    gone = UserFactory(name="Ada Gone", email="ada@example.org")
    from app.stewardship.personal import delete_account

    delete_account(user_id=gone.id, confirm="DELETE")
    db.session.commit()


def _groups(club: Club) -> None:
    invitations.invite(actor_id=club.maya.id, group_id=club.group.id, emails="ravi@example.org",
                       message="Come and grow things.\n\nWe meet on Saturdays.")
    from app.services import guests

    guests.invite_guests(actor_id=club.noah.id, discussion_id=club.thread.id, emails="pia@elsewhere.example",
                         message="You know bins.\n\nWhat do you think?")  # thread_guest_invitation
    other = GroupFactory(handle="bees", name="Bee Keepers")
    omar = member(other, role="admin", name="Omar Reed", email="omar@example.org")
    request = memberships.request_to_join(actor_id=club.lena.id, group_id=other.id, message="I keep two hives.")
    memberships.decide_request(actor_id=omar.id, request_id=request.id, approve=True)
    messages.webhook_disabled(admin=club.maya, group=club.group, webhook_id=1, host="hooks.example.org",
                              reason="5 deliveries in a row failed; the last: HTTP 500")
    db.session.commit()


def _stewardship(club: Club) -> None:
    from app.stewardship.export import request_export

    club.maya.is_site_admin = True
    db.session.commit()
    request_export(actor=club.maya, group_id=club.group.id)  # the job runs inline and mails the link
    from app.stewardship.backup.schedule import alert_admins

    alert_admins("backup", "destination /srv/backups: no space left on device")
    from app.services import site_admin

    site_admin.schedule_deletion(club.maya, group_id=club.group.id)  # its admins are told, with the export
    site_admin.cancel_deletion(club.maya, group_id=club.group.id)
    site_admin.restore_group(club.maya, group_id=club.group.id)
    twin = UserFactory(name="Noah Twin", email="noah.twin@example.org")
    site_admin.request_merge(club.maya, kept_email=club.noah.email, merged_email=twin.email)


def _digest(club: Club) -> None:
    ines = UserFactory(name="Ines Roth", email="ines@example.org", digest_frequency="daily", digest_hour=0)
    MembershipFactory(group=club.group, user=ines, volume="digest")
    thread = discussions.start_thread(actor_id=club.noah.id, group_id=club.group.id, title="Tool shed",
                                      body="The lock is broken.\n\nWho has a key?")
    discussions.post_comment(actor_id=club.maya.id, discussion_id=thread.id, body="I do.\n\nCall me.")
    run_due(now=datetime.now(timezone.utc) + timedelta(minutes=5), ignore_hour=True, member_email=ines.email)


def _meeting(club: Club) -> None:
    """A meeting's invitation (with the outcome) and its cancellation (meeting_cancelled)."""
    slot = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=9)
    work = poll_service.create_poll(actor_id=club.maya.id, poll_type="meeting", group_id=club.group.id,
                                    title="Work party", slots=[slot], duration_minutes=90,
                                    closing_at=datetime.now(timezone.utc) + timedelta(days=3))
    poll_service.close_poll(actor_id=club.maya.id, poll_id=work.id)
    poll_service.set_outcome(actor_id=club.maya.id, poll_id=work.id, statement="Saturday.", option_id=work.options[0].id)
    poll_service.reopen_poll(actor_id=club.maya.id, poll_id=work.id, closing_at=datetime.now(timezone.utc) + timedelta(days=1))


def _made(outbox) -> dict[str, list]:
    """The mails in the outbox by kind (each file is named after its kind and row)."""
    by_kind: dict[str, list] = {}
    for mail in outbox.messages():
        rest = mail.path.stem.partition("-")[2].partition("-")[2]  # "<date>-<time>-<kind>-<id>"
        by_kind.setdefault(rest.rpartition("-")[0], []).append(mail)
    return by_kind


GREETING = re.compile(r"\AHello(?: [^\n,]+)?,\n")
REPLY_LINE = re.compile(r"^ *Reply to this.*$", re.MULTILINE)


def test_the_text_part_of_every_kind_of_mail_is_written_in_paragraphs(clean_app, dns, outbox):
    club = Club()
    for make in (_events, _answers, _accounts, _groups, _stewardship, _digest, _meeting):
        make(club)
    made = _made(outbox)
    assert [kind for kind in KINDS if not made.get(kind)] == []  # a new kind needs a way to make it above
    for kind in KINDS:
        for mail in made[kind]:
            text = mail.text.replace("\r\n", "\n")
            if GREETING.match(text):  # the greeting stands alone, with a blank line after it
                assert re.match(r"\AHello(?: [^\n,]+)?,\n\n\S", text), f"{kind}: {text[:200]!r}"
            assert "\n\n\n" not in text, f"{kind}: {text!r}"
            assert not re.search(r"[^\S\n]+\n", text.replace("\n-- \n", "\n--\n")), f"{kind}: trailing spaces"
            paragraphs = [p for p in text.split("\n\n") if p.strip()]
            if kind == "digest":  # item after item, each ending with its own "Reply to this" line
                assert re.findall(REPLY_LINE.pattern + r"\n(?!\n)", text, flags=re.MULTILINE) == [], text
                assert len(paragraphs) >= 3 + len(REPLY_LINE.findall(text)), text
            else:  # every paragraph of the HTML part is a paragraph of its own in the text part
                assert len(paragraphs) >= len(re.findall(r"<p[ >]", mail.html)), f"{kind}: {text!r}"
