"""A person's data erased at their request by a site admin: the account deletion they could do
themselves (content stays, shown as "deleted member"; a confirmation goes to their address first),
with the site admin's action in the audit log, in the same transaction."""
from __future__ import annotations

from .. import policy
from ..extensions import db
from ..i18n import _
from ..models import User
from ..services import audit
from ..services.errors import Invalid, NotAllowed, NotFound
from .personal import delete_account


def erase_for(actor, *, user_id: int, confirm: str) -> None:
    if not policy.can_manage_people(actor):
        raise NotAllowed(_("Only site admins can do that."))
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.deleted_at is not None:
        raise NotFound(_("There is no such account (it may have been erased)."))
    if user.id == actor.id:
        raise Invalid(_("To delete your own account, use your account's data page."))
    if (confirm or "").strip().lower() != (user.email or "").lower():
        raise Invalid(_("Type the person's address to confirm."), field="confirm")
    audit.record(actor.id, None, "account_erased", user_id=user.id)  # committed with the erasure
    delete_account(user_id=user.id, confirm="delete")
