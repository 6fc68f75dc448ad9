"""Personal data: everything Quorum holds about one member, as JSON; and account deletion."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from ..extensions import db
from ..i18n import _
from ..models import (
    Attachment, Comment, Discussion, DigestDelivery, Group, Invitation, LoginToken, Membership, Notification,
    Poll, PollVoter, Reaction, ReadState, RecoveryCode, SecondFactorChallenge, SenderConfirmation, SignInEvent, Stance,
    TrustedSender, User, UserAlias, Version, WebSession, AddressProof, utcnow,
)
from ..services.errors import Invalid, NotFound

PERSONAL_FORMAT = "quorum-personal-export"
PERSONAL_VERSION = 1


def _v(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _row(obj, columns) -> dict:
    return {c: _v(getattr(obj, c)) for c in columns}


def personal_export(user_id: int) -> dict:
    """Profile, addresses, memberships, posts, votes (never links to anonymous polls), settings,
    sign-in history. Nothing about anybody else."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such account."))
    s = db.session
    memberships = s.execute(select(Membership, Group).join(Group, Group.id == Membership.group_id)
                            .where(Membership.user_id == user_id).order_by(Membership.id)).all()
    stances = s.execute(select(Stance, Poll).join(Poll, Poll.id == Stance.poll_id)
                        .where(Stance.participant_id == user_id, Poll.anonymous.is_(False)).order_by(Stance.id)).all()
    return {
        "format": PERSONAL_FORMAT,
        "version": PERSONAL_VERSION,
        "exported_at": utcnow().isoformat(),
        "profile": _row(user, ("id", "email", "name", "time_zone", "locale", "created_at", "email_verified_at",
                               "totp_enabled_at", "is_site_admin", "email_suspended_at", "email_suspended_reason")),
        "has_password": user.password_hash is not None,
        "passkeys": _passkeys(user_id),
        "single_sign_on": _sso_identities(user_id),
        "aliases": [_row(a, ("email", "verified_at", "created_at")) for a in user.aliases],
        "trusted_sending_services": [_row(t, ("method", "domain", "created_at")) for t in
                                     s.scalars(select(TrustedSender).where(TrustedSender.user_id == user_id))],
        "notification_settings": {
            "digest": _row(user, ("digest_frequency", "digest_weekday", "digest_hour")),
            "groups": [{"group": g.handle, "volume": m.volume} for m, g in memberships],
            "threads": [_row(r, ("discussion_id", "volume", "participating", "last_read_at"))
                        for r in s.scalars(select(ReadState).where(ReadState.user_id == user_id).order_by(ReadState.id))],
        },
        "memberships": [{"group": g.handle, "group_name": g.name, "role": m.role, "joined_at": _v(m.created_at)}
                        for m, g in memberships],
        "discussions": [_row(d, ("id", "group_id", "title", "body", "created_at", "edited_at", "deleted_at"))
                        for d in s.scalars(select(Discussion).where(Discussion.author_id == user_id).order_by(Discussion.id))],
        "comments": [_row(c, ("id", "discussion_id", "parent_id", "body", "created_at", "edited_at", "deleted_at"))
                     for c in s.scalars(select(Comment).where(Comment.author_id == user_id).order_by(Comment.id))],
        "versions": [_row(v, ("item_type", "item_id", "number", "title", "body", "created_at"))
                     for v in s.scalars(select(Version).where(Version.author_id == user_id).order_by(Version.id))],
        "reactions": [_row(r, ("discussion_id", "comment_id", "emoji", "created_at"))
                      for r in s.scalars(select(Reaction).where(Reaction.user_id == user_id).order_by(Reaction.id))],
        "polls_started": [_row(p, ("id", "group_id", "poll_type", "title", "details", "created_at", "closed_at"))
                          for p in s.scalars(select(Poll).where(Poll.author_id == user_id).order_by(Poll.id))],
        "votes": [{"poll_id": p.id, "poll_title": p.title, "latest": st.latest, "reason": st.reason,
                   "created_at": _v(st.created_at),
                   "choices": [{"option": next((o.name for o in p.options if o.id == c.poll_option_id), None),
                                "score": c.score} for c in st.stance_choices]}
                  for st, p in stances],
        "attachments": [_row(a, ("filename", "content_type", "size", "created_at"))
                        for a in s.scalars(select(Attachment).where(Attachment.uploader_id == user_id).order_by(Attachment.id))],
        "sign_in_history": [_row(e, ("method", "ip_address", "user_agent", "created_at"))
                            for e in s.scalars(select(SignInEvent).where(SignInEvent.user_id == user_id).order_by(SignInEvent.id))],
    }


def removable_groups(user_id: int) -> list[Group]:
    """Groups whose settings let members remove their own content when they leave."""
    return list(db.session.scalars(
        select(Group).join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user_id, Group.members_can_remove_own_content.is_(True))
    ))


def delete_account(*, user_id: int, confirm: str, remove_content: bool = False) -> None:
    """Erase personal data; content stays, shown as "deleted member" (or is removed in groups
    that allow it, when the member asks). A confirmation goes to the address before it is erased."""
    from ..email import messages

    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound(_("No such account."))
    if (confirm or "").strip().lower() not in ("delete", (user.email or "").lower()):
        raise Invalid(_("Type DELETE to confirm."), field="confirm")
    removed_in = [g.id for g in removable_groups(user_id)] if remove_content else []
    from ..i18n import locale_for

    messages.account_deleted(to=user.email, user_id=user.id, name=user.name, removed_content=bool(removed_in),
                             locale=locale_for(user))  # the account's language, while there is an account
    now = utcnow()
    if removed_in:
        _remove_content(user_id, removed_in, now)
    s = db.session
    # Invitations and named-voter rows carry the address itself.
    if user.email:
        s.execute(delete(Invitation).where(Invitation.email == user.email, Invitation.accepted_at.is_(None)))
        s.execute(delete(LoginToken).where(LoginToken.email == user.email))
    s.execute(update(PollVoter).where(PollVoter.user_id == user_id).values(email=f"deleted-{user_id}@invalid"))
    # Deleting the web sessions and second-factor steps signs the account out everywhere.
    for model in (UserAlias, AddressProof, TrustedSender, SenderConfirmation, SignInEvent, RecoveryCode, Notification,
                  DigestDelivery, ReadState, Membership, WebSession, SecondFactorChallenge):
        s.execute(delete(model).where(model.user_id == user_id))
    from ..models import OidcIdentity, Passkey, PasskeyChallenge, PasskeyPreference

    for model in (OidcIdentity, Passkey, PasskeyChallenge, PasskeyPreference):  # ways in (docs/SIGNIN.md)
        s.execute(delete(model).where(model.user_id == user_id))
    user.email = None
    user.name = ""
    user.password_hash = None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.email_verified_at = None
    user.is_site_admin = False
    user.digest_frequency = "off"
    user.deleted_at = now
    user.mail_token_generation += 1
    s.commit()


def _remove_content(user_id: int, group_ids: list[int], now) -> None:
    s = db.session
    discussions = select(Discussion.id).where(Discussion.group_id.in_(group_ids))
    comment_ids = list(s.scalars(select(Comment.id).where(Comment.author_id == user_id, Comment.discussion_id.in_(discussions))))
    s.execute(update(Comment).where(Comment.id.in_(comment_ids)).values(body="", deleted_at=now))
    own_threads = list(s.scalars(select(Discussion.id).where(Discussion.author_id == user_id, Discussion.group_id.in_(group_ids))))
    s.execute(update(Discussion).where(Discussion.id.in_(own_threads)).values(body="", deleted_at=now))
    s.execute(update(Version).where(Version.author_id == user_id, (
        ((Version.item_type == "comment") & Version.item_id.in_(comment_ids)) |
        ((Version.item_type == "discussion") & Version.item_id.in_(own_threads)))).values(body="", title=None))
    polls = select(Poll.id).where(Poll.group_id.in_(group_ids))
    s.execute(update(Stance).where(Stance.participant_id == user_id, Stance.poll_id.in_(polls)).values(reason=None))
    s.execute(delete(Reaction).where(Reaction.user_id == user_id, Reaction.discussion_id.in_(discussions)))


def _passkeys(user_id: int) -> list[dict]:
    from ..models import Passkey

    return [_row(p, ("name", "created_at", "last_used_at")) for p in
            db.session.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id))]


def _sso_identities(user_id: int) -> list[dict]:
    from ..models import OidcIdentity

    return [_row(i, ("provider", "email", "created_at", "last_used_at")) for i in
            db.session.scalars(select(OidcIdentity).where(OidcIdentity.user_id == user_id).order_by(OidcIdentity.id))]
