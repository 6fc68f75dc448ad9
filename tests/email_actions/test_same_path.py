"""One service path: the same action done on the web by Dee and by email by Bob leaves the same
rows and the same events (apart from who, when, ids and the recorded source)."""
from __future__ import annotations

from sqlalchemy import select

from app.email import links
from app.extensions import db
from app.models import Comment, Event, Membership, ReadState, Stance, Version
from mail.pipeline import process
from tests.helpers import post, sign_in

from .conftest import message

IDENTITY = {"id", "author_id", "created_at", "source", "inbound_message_id", "participant_id", "user_id",
            "actor_id", "comment_id", "stance_id", "item_id", "last_read_at", "updated_at", "fanned_out_at"}


def columns(row) -> dict:
    return {c.name: getattr(row, c.key) for c in row.__table__.columns if c.name not in IDENTITY}


def event(kind: str, actor_id: int) -> dict:
    db.session.expire_all()
    row = db.session.scalars(select(Event).where(Event.kind == kind, Event.actor_id == actor_id)
                             .order_by(Event.id.desc())).first()
    data = {k: v for k, v in (row.data or {}).items() if k not in IDENTITY}
    return columns(row) | {"data": data}


def by_email(garden, user, kind: str, target_id: int, body: str, subject: str = "Re: Garden day"):
    to = garden.address(user, kind, target_id)
    outcome = process(message(sender=user.email, to=to, subject=subject, body=body), envelope_from=user.email,
                      recipients=[to])
    assert outcome.status == "processed", outcome.reason
    return outcome


def test_a_comment_by_email_and_on_the_web_are_the_same(garden, client):
    sign_in(client, garden.dee)
    assert post(client, f"/d/{garden.thread.id}/comments", {"body": "See you there."}).status_code == 303
    by_email(garden, garden.bob, "discussion", garden.thread.id, "See you there.")
    web, mail = (db.session.scalar(select(Comment).where(Comment.author_id == u.id)) for u in (garden.dee, garden.bob))
    assert columns(web) == columns(mail)
    assert (web.source, mail.source) == ("web", "email")
    versions = [columns(db.session.scalar(select(Version).where(Version.item_type == "comment", Version.item_id == c.id)))
                for c in (web, mail)]
    assert versions[0] == versions[1]
    assert event("comment_posted", garden.dee.id) == event("comment_posted", garden.bob.id)
    states = [columns(db.session.scalar(select(ReadState).where(ReadState.user_id == u.id)))
              for u in (garden.dee, garden.bob)]
    assert states[0]["participating"] and states[1]["participating"]


def test_a_vote_by_email_and_on_the_web_are_the_same(garden, client):
    poll = garden.poll("proposal")
    disagree = next(o for o in poll.options if o.name == "Disagree")
    sign_in(client, garden.dee)
    assert post(client, f"/p/{poll.id}/vote", {"option": str(disagree.id), "reason": "too costly"}).status_code == 303
    by_email(garden, garden.bob, "poll", poll.id, "disagree: too costly")
    web, mail = (db.session.scalar(select(Stance).where(Stance.participant_id == u.id)) for u in (garden.dee, garden.bob))
    assert columns(web) == columns(mail) and web.choices == mail.choices
    assert (web.source, mail.source) == ("web", "email")
    assert event("stance_created", garden.dee.id) == event("stance_created", garden.bob.id)


def test_a_ranked_vote_by_email_and_on_the_web_are_the_same(garden, client):
    poll = garden.poll("ranked_choice", options=["Oak", "Birch", "Maple"])
    ids = {o.name: o.id for o in poll.options}
    sign_in(client, garden.dee)
    form = {f"rank-{ids['Maple']}": "1", f"rank-{ids['Oak']}": "2", f"rank-{ids['Birch']}": "3"}
    assert post(client, f"/p/{poll.id}/vote", form).status_code == 303
    by_email(garden, garden.bob, "poll", poll.id, "Maple, Oak, Birch")
    web, mail = (db.session.scalar(select(Stance).where(Stance.participant_id == u.id)) for u in (garden.dee, garden.bob))
    assert web.choices == mail.choices


def test_unsubscribe_and_mute_by_reply_do_what_the_footer_links_do(garden, client):
    unsubscribe = links.make("unsubscribe_group", garden.dee, group_id=garden.group.id)
    assert client.post(f"/m/one-click/{unsubscribe}").status_code == 200
    by_email(garden, garden.bob, "group", garden.group.id, "unsubscribe", subject="unsubscribe")
    volumes = [db.session.scalar(select(Membership.volume).where(Membership.user_id == u.id))
               for u in (garden.dee, garden.bob)]
    assert volumes == ["mute", "mute"]

    mute = links.make("mute_thread", garden.dee, discussion_id=garden.thread.id)
    assert post(client, f"/m/mute_thread/{mute}").status_code == 303
    by_email(garden, garden.bob, "discussion", garden.thread.id, "mute")
    states = [columns(db.session.scalar(select(ReadState).where(ReadState.user_id == u.id)))
              for u in (garden.dee, garden.bob)]
    assert states[0] == states[1] and states[0]["volume"] == "mute"


def test_digest_by_reply_does_what_the_digest_settings_page_does(garden, client):
    from app.services.digests import save_settings

    save_settings(user_id=garden.dee.id, frequency="weekly", weekday=garden.dee.digest_weekday,
                  hour=garden.dee.digest_hour, volumes={garden.group.id: "digest"})
    by_email(garden, garden.bob, "discussion", garden.thread.id, "digest weekly")
    db.session.expire_all()
    rows = [(u.digest_frequency, u.digest_weekday, u.digest_hour,
             db.session.scalar(select(Membership.volume).where(Membership.user_id == u.id)))
            for u in (garden.dee, garden.bob)]
    assert rows[0] == rows[1] == ("weekly", 0, 7, "digest")
