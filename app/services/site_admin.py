"""The site admin's work: the people of the instance (find, deactivate, reactivate, erase on request,
merge two accounts of one person) and its groups (archive, restore, delete after a grace period).

Site admins see metadata only — names, addresses, counts, dates — never a group's content: reading
that still needs a support grant from the group's admins (app/stewardship/grants.py). Every action
here is written to the audit log in the transaction that makes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import UniqueConstraint, delete, func, or_, select, tuple_, update

from .. import policy
from ..extensions import db
from ..models import (
    AccountMerge, Comment, Discussion, Group, Membership, Participation, Poll, SignInEvent, Stance, User, UserAlias,
    WebSession, utcnow,
)
from ..tokens import hash_token, random_token
from . import audit
from .accounts import normalise_email
from .errors import Invalid, NotAllowed, NotFound
from ..i18n import _


def archived_explanation(name: str) -> str:
    """Why mail to an archived group is not posted, in the current language (a reply: the sender's)."""
    return _("%(name)s is archived: it is kept read-only, so nothing new can be posted, voted on or joined "
             "there. Its members can still read it on the web.", name=name)


MERGE_DAYS = 7
PEOPLE_LIMIT = 200


def _site_admin(actor) -> None:
    if not policy.can_manage_people(actor):
        raise NotAllowed(_("Only site admins can do that."))


def _user(user_id) -> User:
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.deleted_at is not None:
        raise NotFound(_("There is no such account (it may have been erased)."))
    return user


def _group(group_id) -> Group:
    group = db.session.get(Group, group_id) if isinstance(group_id, int) else None
    if group is None:
        raise NotFound(_("There is no such group."))
    return group


# --- People ------------------------------------------------------------------------------------

@dataclass
class PersonRow:
    user: User
    last_seen: datetime | None
    groups: int


def people(actor, q: str = "", *, limit: int = PEOPLE_LIMIT) -> list[PersonRow]:
    """Accounts (not erased) whose name or address (or a proven alias) contains `q`, newest first."""
    _site_admin(actor)
    last_seen = (select(SignInEvent.user_id, func.max(SignInEvent.created_at).label("seen"))
                 .group_by(SignInEvent.user_id).subquery())
    counts = (select(Membership.user_id, func.count(Membership.id).label("n")).group_by(Membership.user_id).subquery())
    query = (select(User, last_seen.c.seen, counts.c.n)
             .outerjoin(last_seen, last_seen.c.user_id == User.id).outerjoin(counts, counts.c.user_id == User.id)
             .where(User.deleted_at.is_(None)))
    q = (q or "").strip().lower()[:100]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        aliases = select(UserAlias.user_id).where(UserAlias.email.like(pattern, escape="\\"))
        query = query.where(or_(func.lower(User.name).like(pattern, escape="\\"),
                                func.lower(User.email).like(pattern, escape="\\"), User.id.in_(aliases)))
    rows = db.session.execute(query.order_by(User.id.desc()).limit(limit)).all()
    return [PersonRow(user=u, last_seen=seen, groups=n or 0) for u, seen, n in rows]


def deactivate(actor, *, user_id: int) -> User:
    """The account can no longer sign in (its sessions end now) or act by mail; nothing is erased."""
    _site_admin(actor)
    user = _user(user_id)
    if user.id == actor.id:
        raise Invalid(_("You cannot deactivate your own account."))
    if user.deactivated_at is not None:
        return user
    user.deactivated_at = utcnow()
    db.session.execute(update(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))
    audit.record(actor.id, None, "account_deactivated", user_id=user.id)
    db.session.commit()
    return user


def reactivate(actor, *, user_id: int) -> User:
    _site_admin(actor)
    user = _user(user_id)
    if user.deactivated_at is None:
        return user
    user.deactivated_at = None
    audit.record(actor.id, None, "account_reactivated", user_id=user.id)
    db.session.commit()
    return user


# --- Merging two accounts of one person ---------------------------------------------------------

def _merge_hash(token: str) -> str:
    return hash_token("account-merge:" + token)


def request_merge(actor, *, kept_email: str, merged_email: str) -> AccountMerge:
    """Mail a link to each of the two addresses; the merge happens when both were followed."""
    from ..email import messages

    _site_admin(actor)
    found = []
    for field, raw in (("kept_email", kept_email), ("merged_email", merged_email)):
        try:
            email = normalise_email(raw)
        except Invalid as error:
            raise Invalid(error.message, field=field) from None
        user = db.session.scalar(select(User).where(func.lower(User.email) == email, User.deleted_at.is_(None)))
        if user is None:
            raise Invalid(_("No account has %(email)s as its address.", email=email), field=field)
        found.append(user)
    kept, merged = found
    if kept.id == merged.id:
        raise Invalid(_("Those are the same account."), field="merged_email")
    if merged.is_site_admin and not kept.is_site_admin:
        raise Invalid(_("Keep the site admin's account, or make the kept account a site admin first."), field="kept_email")
    now = utcnow()
    db.session.execute(update(AccountMerge).where(
        AccountMerge.done_at.is_(None), AccountMerge.cancelled_at.is_(None),
        or_(AccountMerge.kept_id.in_((kept.id, merged.id)), AccountMerge.merged_id.in_((kept.id, merged.id))))
        .values(cancelled_at=now))
    tokens = random_token(), random_token()
    row = AccountMerge(kept_id=kept.id, merged_id=merged.id, requested_by_id=actor.id,
                       kept_token_hash=_merge_hash(tokens[0]), merged_token_hash=_merge_hash(tokens[1]),
                       created_at=now, expires_at=now + timedelta(days=MERGE_DAYS))
    db.session.add(row)
    db.session.flush()
    base = current_app.config["BASE_URL"]
    for user, token, other in ((kept, tokens[0], merged), (merged, tokens[1], kept)):
        messages.account_merge(merge_id=row.id, to=user.email, user=user, other=other.email, kept=kept.email,
                               link=f"{base}/merge/{token}", days=MERGE_DAYS)
    audit.record(actor.id, None, "merge_requested", merge_id=row.id, kept=kept.id, merged=merged.id)
    db.session.commit()
    return row


def load_merge(token: str) -> tuple[AccountMerge, str] | None:
    """The merge a mailed link belongs to, and which side ("kept" or "merged") it is for."""
    digest = _merge_hash(token or "")
    row = db.session.scalar(select(AccountMerge).where(
        or_(AccountMerge.kept_token_hash == digest, AccountMerge.merged_token_hash == digest)))
    if row is None:
        return None
    return row, "kept" if row.kept_token_hash == digest else "merged"


def merge_state(row: AccountMerge) -> str:
    if row.done_at is not None:
        return "done"
    if row.cancelled_at is not None:
        return "cancelled"
    if row.expires_at <= utcnow():
        return "expired"
    return "waiting"


def confirm_merge(token: str) -> AccountMerge:
    """One address proved (its owner followed the link); with both proved, the accounts are merged."""
    found = load_merge(token)
    if found is None:
        raise NotFound(_("This link is not valid."))
    row, side = found
    state = merge_state(row)
    if state != "waiting":
        raise Invalid({"done": _("These accounts are already merged."), "cancelled": _("This merge was cancelled."),
                       "expired": _("This link has expired; ask the site admin to start again.")}[state])
    now = utcnow()
    if side == "kept":
        row.kept_confirmed_at = row.kept_confirmed_at or now
    else:
        row.merged_confirmed_at = row.merged_confirmed_at or now
    if row.kept_confirmed_at is not None and row.merged_confirmed_at is not None:
        _merge(row)
    db.session.commit()
    return row


# Rows that belong to a signed-in browser or a sign-in step: the merged account's simply end.
_ENDED_WITH_ACCOUNT = ("web_sessions", "second_factor_challenges", "recovery_codes", "feed_tokens", "address_proofs",
                       "account_merges", "site_branding")


def _merge(row: AccountMerge) -> None:
    """Move everything of the merged account to the kept one: memberships (the higher role wins),
    content, votes (where both voted in one poll the kept account's vote stands), aliases; its
    address becomes a proven alias of the kept account; the merged account is closed."""
    s = db.session
    kept, merged = s.get(User, row.kept_id), s.get(User, row.merged_id)
    notes: list[str] = []
    conflicts = 0
    # Memberships: one per group; the higher role wins.
    kept_roles = {m.group_id: m for m in s.scalars(select(Membership).where(Membership.user_id == kept.id))}
    for m in list(s.scalars(select(Membership).where(Membership.user_id == merged.id))):
        mine = kept_roles.get(m.group_id)
        if mine is None:
            continue
        if m.role == "admin" and mine.role != "admin":
            mine.role = "admin"
            notes.append(f"in group {m.group_id} the kept account became an admin, as the other account was")
        s.delete(m)
    s.flush()
    # Votes: both voted in one poll → the kept account's vote stands; the other's no longer counts.
    both = list(s.scalars(select(Participation.poll_id).where(Participation.user_id == merged.id,
                                                               Participation.poll_id.in_(
                                                                   select(Participation.poll_id).where(
                                                                       Participation.user_id == kept.id)))))
    if both:
        conflicts += len(both)
        s.execute(update(Stance).where(Stance.participant_id == merged.id, Stance.poll_id.in_(both))
                  .values(latest=False))
        s.execute(delete(Participation).where(Participation.user_id == merged.id, Participation.poll_id.in_(both)))
        titles = list(s.scalars(select(Poll.title).where(Poll.id.in_(both))))
        notes.append("both accounts had voted in " + ", ".join(f'"{t}"' for t in titles)
                     + ": the kept account's vote stands; the other one's is kept in its history only")
    # Everything else that points at the merged account: moved, unless the kept account already has
    # the same row (a unique constraint says so), in which case the merged one's copy goes.
    moved = 0
    for table in db.metadata.sorted_tables:
        if table.name in ("users",):
            continue
        for column in table.columns:
            if not any(fk.column.table.name == "users" for fk in column.foreign_keys):
                continue
            if table.name in _ENDED_WITH_ACCOUNT:
                if table.name not in ("account_merges", "site_branding"):
                    s.execute(delete(table).where(column == merged.id))
                continue
            for constraint in _unique_sets(table, column):
                others = [table.c[name] for name in constraint if name != column.name]
                kept_rows = select(*others).where(column == kept.id)
                if others:
                    key = tuple_(*others) if len(others) > 1 else others[0]
                    s.execute(delete(table).where(column == merged.id, key.in_(kept_rows)))
                else:
                    s.execute(delete(table).where(column == merged.id))
            moved += s.execute(update(table).where(column == merged.id).values({column.name: kept.id})).rowcount or 0
    # The merged address: now a proven alias of the kept account.
    address = merged.email
    merged.email = None
    merged.name = ""
    merged.password_hash = None
    merged.totp_secret = None
    merged.totp_enabled_at = None
    merged.is_site_admin = False
    merged.deleted_at = utcnow()
    merged.mail_token_generation += 1
    s.flush()
    if address and s.scalar(select(UserAlias.id).where(UserAlias.email == address)) is None:
        s.add(UserAlias(user_id=kept.id, email=address, verified_at=utcnow()))
    row.done_at = utcnow()
    row.conflicts = conflicts
    row.report = (f"Moved {moved} records to {kept.email}. " + ("; ".join(notes) + "." if notes else
                                                               "There were no conflicts."))[:4000]
    audit.record(row.requested_by_id, None, "accounts_merged", merge_id=row.id, kept=kept.id, merged=merged.id,
                 conflicts=conflicts)


def _unique_sets(table, column) -> list[list[str]]:
    """Column-name sets that must be unique and include `column` (constraints and unique indexes)."""
    sets = [[c.name for c in con.columns] for con in table.constraints if isinstance(con, UniqueConstraint)]
    sets += [[c.name for c in index.columns] for index in table.indexes if index.unique]
    if column.unique:
        sets.append([column.name])
    return [names for names in sets if column.name in names]


def merges(actor, limit: int = 50) -> list[AccountMerge]:
    _site_admin(actor)
    return list(db.session.scalars(select(AccountMerge).order_by(AccountMerge.id.desc()).limit(limit)))


def cancel_merge(actor, *, merge_id: int) -> AccountMerge:
    _site_admin(actor)
    row = db.session.get(AccountMerge, merge_id) if isinstance(merge_id, int) else None
    if row is None:
        raise NotFound(_("There is no such merge."))
    if merge_state(row) == "waiting":
        row.cancelled_at = utcnow()
        audit.record(actor.id, None, "merge_cancelled", merge_id=row.id)
        db.session.commit()
    return row


# --- Groups -------------------------------------------------------------------------------------

@dataclass
class GroupRow:
    group: Group
    members: int
    threads: int
    last_activity: datetime | None


def groups(actor, q: str = "", *, limit: int = 300) -> list[GroupRow]:
    """Every group with its size, privacy and activity (dates and counts, never its content)."""
    _site_admin(actor)
    members = select(Membership.group_id, func.count(Membership.id).label("n")).group_by(Membership.group_id).subquery()
    threads = (select(Discussion.group_id, func.count(Discussion.id).label("n"),
                      func.max(Discussion.created_at).label("last")).group_by(Discussion.group_id).subquery())
    comments = (select(Discussion.group_id, func.max(Comment.created_at).label("last"))
                .join(Comment, Comment.discussion_id == Discussion.id).group_by(Discussion.group_id).subquery())
    query = (select(Group, members.c.n, threads.c.n, threads.c.last, comments.c.last)
             .outerjoin(members, members.c.group_id == Group.id).outerjoin(threads, threads.c.group_id == Group.id)
             .outerjoin(comments, comments.c.group_id == Group.id))
    q = (q or "").strip().lower()[:100]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(Group.name).like(pattern, escape="\\"), Group.handle.like(pattern, escape="\\")))
    rows = db.session.execute(query.order_by(Group.name, Group.id).limit(limit)).all()
    out = []
    for group, n_members, n_threads, last_thread, last_comment in rows:
        dates = [d for d in (last_thread, last_comment) if d is not None]
        out.append(GroupRow(group=group, members=n_members or 0, threads=n_threads or 0,
                            last_activity=max(dates) if dates else None))
    return out


def archive_group(actor, *, group_id: int) -> Group:
    """Read-only and out of every list; its members still read it (and may leave it)."""
    group = _group(group_id)
    if not policy.can_archive_group(actor, group):
        raise NotAllowed(_("Only the group's admins (or a site admin) can archive it."))
    if group.archived_at is None:
        group.archived_at = utcnow()
        audit.record(actor.id, group.id, "group_archived", by_site_admin=not policy.is_admin(actor, group))
        db.session.commit()
    return group


def restore_group(actor, *, group_id: int) -> Group:
    group = _group(group_id)
    if not policy.can_archive_group(actor, group):
        raise NotAllowed(_("Only the group's admins (or a site admin) can restore it."))
    if group.archived_at is not None:
        group.archived_at = None
        audit.record(actor.id, group.id, "group_restored", by_site_admin=not policy.is_admin(actor, group))
        db.session.commit()
    return group


def leave_archive(actor, *, group_id: int) -> None:
    """A member leaves an archived group (any role; the archive stays for the others)."""
    group = _group(group_id)
    if not policy.can_leave_archive(actor, group):
        raise NotAllowed(_("Only members of an archived group can leave it this way."))
    db.session.execute(delete(Membership).where(Membership.group_id == group.id, Membership.user_id == actor.id))
    audit.record(actor.id, group.id, "left_archive")
    db.session.commit()
    policy.forget_memberships()


def schedule_deletion(actor, *, group_id: int, now: datetime | None = None) -> Group:
    """The group is deleted after the grace period; its admins are told by mail now (with the link to
    export it first), and a site admin can cancel until then. The group is archived meanwhile."""
    from ..email import messages

    group = _group(group_id)
    if not policy.can_delete_group(actor, group):
        raise NotAllowed(_("Only site admins can delete a group."))
    if group.deletion_due_at is not None:
        return group
    now = now or utcnow()
    days = int(current_app.config.get("GROUP_DELETION_GRACE_DAYS", 7))
    group.deletion_due_at = now + timedelta(days=days)
    group.archived_at = group.archived_at or now
    admins = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.group_id == group.id, Membership.role == "admin", User.deleted_at.is_(None)))
    for admin in admins:
        messages.group_deletion_scheduled(admin=admin, group=group, due_at=group.deletion_due_at, days=days)
    audit.record(actor.id, group.id, "group_deletion_scheduled", due=group.deletion_due_at.isoformat(), days=days)
    db.session.commit()
    return group


def cancel_deletion(actor, *, group_id: int) -> Group:
    group = _group(group_id)
    if not policy.can_delete_group(actor, group):
        raise NotAllowed(_("Only site admins can cancel a group's deletion."))
    if group.deletion_claimed_at is not None:
        raise Invalid(_("This group is being deleted now; it is too late to cancel."))
    if group.deletion_due_at is not None:
        group.deletion_due_at = None
        audit.record(actor.id, group.id, "group_deletion_cancelled")
        db.session.commit()
    return group


def delete_due_groups(now: datetime | None = None) -> int:
    """The scheduled job: delete each group whose grace period is over, once (a conditional UPDATE
    claims it, so two runs never both delete)."""
    now = now or utcnow()
    done = 0
    due = list(db.session.scalars(select(Group.id).where(Group.deletion_due_at <= now,
                                                         Group.deletion_claimed_at.is_(None))))
    for group_id in due:
        claimed = db.session.execute(
            update(Group).where(Group.id == group_id, Group.deletion_due_at <= now, Group.deletion_claimed_at.is_(None))
            .values(deletion_claimed_at=now).execution_options(synchronize_session=False)).rowcount
        db.session.commit()
        if not claimed:
            continue
        group = db.session.get(Group, group_id)
        db.session.refresh(group)
        name, handle = group.name, group.handle
        try:
            _delete_group_rows(group_id)
            audit.record(None, None, "group_deleted", deleted_group=group_id, name=name, handle=handle)
            db.session.commit()
        except Exception:
            db.session.rollback()  # nothing half-deleted; the next run tries again
            db.session.execute(update(Group).where(Group.id == group_id).values(deletion_claimed_at=None))
            db.session.commit()
            raise
        done += 1
    return done


def _delete_group_rows(group_id: int) -> None:
    """Delete the group and everything that hangs from it (subgroups too), children first; rows that
    only mention it (audit entries, stored mail) keep their row and lose the reference."""
    from .. import storage

    s = db.session
    tables = {t.name: t for t in db.metadata.sorted_tables}
    doomed: dict[str, set] = {"groups": {group_id}}
    nulls: list[tuple] = []
    changed = True
    while changed:
        changed = False
        for table in db.metadata.sorted_tables:
            pk = list(table.primary_key.columns)
            if len(pk) != 1:
                continue
            for column in table.columns:
                for fk in column.foreign_keys:
                    parent = fk.column.table.name
                    if parent not in doomed or parent == "users":
                        continue
                    if fk.ondelete and fk.ondelete.upper() == "SET NULL":
                        nulls.append((table, column, parent))
                        continue
                    ids = set(s.scalars(select(pk[0]).where(column.in_(sorted(doomed[parent])))))
                    new = ids - doomed.get(table.name, set())
                    if new:
                        doomed.setdefault(table.name, set()).update(new)
                        changed = True
    for table, column, parent in nulls:
        s.execute(update(table).where(column.in_(sorted(doomed[parent]))).values({column.name: None}))
    if "attachments" in doomed:
        keys = list(s.scalars(select(tables["attachments"].c.storage_key).where(
            tables["attachments"].c.id.in_(sorted(doomed["attachments"])))))
    else:
        keys = []
    # Self-references (comment replies, subgroups) first, so each row can go.
    for name, ids in doomed.items():
        table = tables[name]
        for column in table.columns:
            if column.nullable and any(fk.column.table.name == name for fk in column.foreign_keys):
                s.execute(update(table).where(table.primary_key.columns[0].in_(sorted(ids))).values({column.name: None}))
    for table in reversed(db.metadata.sorted_tables):
        if table.name in doomed:
            s.execute(delete(table).where(list(table.primary_key.columns)[0].in_(sorted(doomed[table.name]))))
    s.flush()
    for key in keys:
        if key:
            try:
                storage.delete("attachments", key)
            except Exception:  # noqa: BLE001 - a missing file is already gone
                current_app.logger.warning("could not delete stored attachment %s of a deleted group", key)
