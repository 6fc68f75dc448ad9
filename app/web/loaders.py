"""Load what a page is about, or answer 404: one loader per kind, each asking the service (and so
the policy) whether this person may see it. "Not found" and "not yours to see" look the same."""
from __future__ import annotations

from typing import Iterator

from flask import abort

from .. import search as search_index
from ..models import Attachment, Comment, Discussion, Group, GroupExport, Poll
from ..services import attachments, discussions, groups
from ..services import polls as poll_service
from ..services.errors import NotFound
from ..stewardship import export as exports
from .helpers import sign_in_first, signed_in_user


def group_or_404(handle: str) -> Group:
    """A group this person may know exists (its page shows content to those who may read it)."""
    try:
        return groups.visible_group(signed_in_user(), handle)
    except NotFound:
        abort(404)


def admin_group_or_404(handle: str) -> Group:
    """A group this person may act as an admin of (its export, support and webhooks pages); 404 for
    anyone else, or 403 saying why for an admin the group's two-factor rule holds back."""
    from flask_login import current_user

    from .. import policy
    from ..i18n import _

    group = group_or_404(handle)
    if not policy.can_administer(current_user, group):
        if policy.needs_2fa_to_administer(current_user, group):
            abort(403, description=_("This group requires two-factor sign-in for admins. "
                                     "Turn it on under Account → Two-factor sign-in, then try again."))
        abort(404)
    return group


def discussion_or_404(discussion_id: int) -> Discussion:
    """A thread this person may read."""
    try:
        return discussions.visible_discussion(signed_in_user(), discussion_id)
    except NotFound:
        abort(404)


def thread_page_or_404(discussion_id: int, page: int = 1) -> dict:
    """What the thread page shows (the thread, a page of comments, the poll section)."""
    try:
        return discussions.thread_page(discussion_id, signed_in_user(), page=page)
    except NotFound:
        abort(404)


def comment_or_404(comment_id: int) -> Comment:
    """A comment (not deleted) in a thread this person may read."""
    try:
        return discussions.visible_comment(signed_in_user(), comment_id)
    except NotFound:
        abort(404)


def poll_or_404(poll_id: int) -> Poll:
    """A poll this person may read; a signed-out visitor is asked to sign in first, whether or not
    there is such a poll (so the answer never tells which ids exist)."""
    user = signed_in_user()
    try:
        return poll_service.visible_poll(user, poll_id)
    except NotFound:
        if user is None:
            abort(sign_in_first(f"/p/{poll_id}"))
        abort(404)


def attachment_or_404(attachment_id: int, filename: str) -> tuple[Attachment, Iterator[bytes]]:
    """An attachment of a thread this person may read, with its (decrypted) bytes as chunks."""
    try:
        return attachments.for_download(signed_in_user(), attachment_id, filename)
    except NotFound:
        abort(404)


def search_results(q: str, filters=None) -> list:
    """Search hits among what this person may read (the policy checks each one)."""
    return search_index.search(signed_in_user(), q, filters=filters) if q else []


def search_groups() -> list:
    """The groups a search may be narrowed to: those whose content this person may read, by name."""
    return search_index.searchable_groups(signed_in_user())


def export_or_404(group: Group, export_id: int) -> GroupExport:
    """One of this group's exports (the caller has checked the person may export the group)."""
    try:
        return exports.export_of(group.id, export_id)
    except NotFound:
        abort(404)
