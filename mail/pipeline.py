"""From raw bytes (and the database) to an outcome: parse, classify, authenticate, extract, act.

`process()` is used by the job (`mail/processing.py`), the CLI (`quorum mail ingest`) and the
tests. It never raises for bad mail: every message ends with a status (processed, held,
rejected) and a reason. With `dry_run=True` it writes nothing and sends nothing.

Nothing is acted on for a sender who is not proven (`mail/authn.py`): mail from a member's
address that SPF/DKIM (aligned) or the trusted upstream MTA does not authenticate is held, and
the member is asked at their own address to confirm it (`app/services/sender_proof.py`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from email.message import Message

from flask import current_app

from app import policy
from app.extensions import db
from app.i18n import _, speak_to
from app.models import Group, User
from app.services import sender_proof
from app.services.accounts import user_by_email

from . import actions, authn, bounces, meetings
from .classify import BOUNCE, COMPLAINT, HUMAN, Classification, classify, header, parse_bytes, sender_address
from .mime import (extract_reply, header_recipients, message_ids, original_of, our_trace, remember_headers, safe_text,
                   sender_display_name)
from .recipients import first_of_ours
from .reply import ActionResult, Reply


# --- The outcome ---------------------------------------------------------------------------

@dataclass
class Outcome:
    status: str  # processed | held | rejected | deferred
    classification: str
    action: str
    reason: str
    body: str = ""
    user_id: int | None = None
    group_id: int | None = None
    comment_id: int | None = None
    explanation_to: str | None = None  # address that was (or, dry run, would be) told why
    authenticated: bool | None = None  # the sender check's verdict (None: not checked)
    sender_check: str = ""  # …and why, in words
    authentication: str = ""  # the Authentication-Results header we wrote
    attachments: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        data = asdict(self)
        data["class"] = data.pop("classification")
        return data


class SenderCheckDeferred(Exception):
    """DNS did not answer: whether the sender is who they say is unknown. The stored message
    waits and is tried again later (`mail/processing.py`); it is never acted on meanwhile."""


def process(
    raw: bytes,
    *,
    envelope_from: str | None,
    recipients: list[str],
    dry_run: bool = False,
    inbound_id: int | None = None,
    may_defer: bool = False,
    allowed_by: int | None = None,
) -> Outcome:
    """Decide what one message means and (unless dry_run) do it.

    With `may_defer`, a sender check that DNS left undecided raises SenderCheckDeferred (the job
    tries again later); without it (the last attempt, a dry run) the sender counts as unproven.
    """
    config = current_app.config
    domain = config["MAIL_DOMAIN"].lower()
    msg = remember_headers(parse_bytes(raw))
    helo, ip = our_trace(msg)
    recipients = list(recipients) or header_recipients(msg)
    kind = classify(msg, envelope_from=envelope_from, our_domain=domain, our_message_id_domain=domain,
                    recipients=recipients)
    outcome = Outcome(status="rejected", classification=kind.kind, action="none", reason=kind.reason)

    if kind.kind == BOUNCE:
        return _bounce(outcome, kind, recipients, msg, dry_run)
    if kind.kind == COMPLAINT:
        return _complaint(outcome, kind, recipients, msg, dry_run)
    if kind.kind != HUMAN:  # auto-replies and loops never become posts, and are never answered
        outcome.action, outcome.reason = "ignored", f"{kind.kind.replace('_', '-')}: {kind.reason}"
        return outcome

    # Who it is for and who it claims to be from come first: nothing costly (trimming, DNS) is
    # spent on mail for nobody, and a stranger's text is never even read.
    envelope = (envelope_from or "").strip("<>")
    recipient, refusal = first_of_ours(recipients, envelope_from=envelope)
    if recipient is None:
        outcome.action, outcome.reason = "refused", refusal or "not addressed to any address we serve"
        return outcome
    if recipient.kind == "postmaster":
        outcome.status, outcome.action = "held", "postmaster"
        outcome.reason = f"mail for {recipient.address}: an operator should read it"
        return outcome
    if recipient.kind == "bounce":
        outcome.action, outcome.reason = "ignored", "mail to our bounce address that is not a delivery report"
        return outcome
    sender = sender_address(msg)
    sender = safe_text(sender) if sender else None
    if sender is None:
        outcome.action, outcome.reason = "refused", "no sender address (From) we can read"
        return outcome

    verdict = authn.authenticate(
        raw, msg, from_address=sender, authserv_id=domain, resolver=default_resolver(), ip=ip, helo=helo,
        mail_from=envelope, trusted_authserv_id=config.get("TRUSTED_AUTHSERV_ID"),
    )
    outcome.authenticated, outcome.sender_check, outcome.authentication = (
        verdict.authenticated, verdict.as_text(), verdict.header)
    sender_user = user_by_email(sender)
    speak_to(sender_user)  # what this job writes back from here on is in the sender's language

    if recipient.kind == "notifications":  # a reply to a digest or a sign-in mail (no Reply-To of its own)
        from .noreply import quoted_digest_item, where_to_write

        item = quoted_digest_item(msg, sender_user)
        if item is None:
            outcome.action = "refused"
            outcome.reason = f"mail to {recipient.address}, which only sends"
            outcome.user_id = sender_user.id if sender_user else None
            proven = verdict.authenticated or (
                sender_user is not None and sender_proof.trusts(sender_user.id, verdict.vouchers))
            # Only a proven sender is told where to write (an unproven From may be anyone's).
            return _explain(outcome, msg, sender if proven else None, "notifications", dry_run,
                            where_to_write(sender_user))
        recipient = item  # a digest reply quoting one item: it answers that item

    # The claimed member: the reply address's owner (whom From must match), or the group's sender.
    if recipient.kind == "reply":
        target = recipient.target
        if recipient.invited_email is not None:  # an invitation to an address with no account yet
            user, matches = sender_user, sender.lower() == recipient.invited_email
        else:
            user = db.session.get(User, recipient.user_id)
            matches = sender_user is not None and user is not None and sender_user.id == user.id
        if not matches:
            outcome.action = "refused"
            outcome.reason = f"From {sender} does not match the member this reply address was sent to"
            outcome.user_id = sender_user.id if sender_user else None
            # Only someone proven to be the sender hears why (an unproven From may be anyone's).
            return _explain(outcome, msg, sender if verdict.authenticated and sender_user else None,
                            "wrong_sender", dry_run,
                            _("This reply address was sent to another member, so we cannot post your reply from "
                              "%(sender)s. Please reply to the notification you received yourself, or use the web "
                              "page.", sender=sender))
        target_kind, target_id = target.kind, target.target_id
    else:  # mail to a group's address
        group = db.session.get(Group, recipient.group_id)
        if group.archived_at is not None:  # read-only: refused, and a proven sender is told why
            from app.services.site_admin import archived_explanation

            outcome.action, outcome.reason = "refused", f"{group.handle} is archived"
            outcome.group_id = group.id
            outcome.user_id = sender_user.id if sender_user else None
            return _explain(outcome, msg, sender if verdict.authenticated else None, "archived", dry_run,
                            archived_explanation(group.name))
        if allowed_by is not None and (sender_user is None or not policy.is_member(sender_user, group)):
            return _post_allowed(outcome, msg, group, sender, sender_user, verdict, allowed_by, inbound_id, dry_run)
        if sender_user is None:  # a stranger: held for the group's admins (or refused if they blocked it)
            from .newthreads import hold_stranger

            # Its words only for the admins' notice (capped like every extraction): nothing is posted.
            preview = "" if dry_run else extract_reply(msg)[0]
            result = hold_stranger(None, group, sender.lower(), subject=safe_text(header(msg, "Subject")),
                                   inbound_id=inbound_id, dry_run=dry_run, preview=preview)
            outcome.status, outcome.action, outcome.reason = result.status, result.action, result.reason
            outcome.group_id = result.group_id
            return outcome
        user, target_kind, target_id = sender_user, "group", recipient.group_id
    outcome.user_id = user.id if user is not None else None

    body, attachments = extract_reply(msg)
    calendar = meetings.calendar_answer(msg)  # a calendar's Accept / Decline (iMIP REPLY): its own route
    if calendar is not None:
        attachments = [a for a in attachments if not meetings.is_calendar_file(a)]
    outcome.body, outcome.attachments = body, [a.filename for a in attachments]
    if not body and actions.command_of(header(msg, "Subject")):
        body = header(msg, "Subject").strip()  # List-Unsubscribe's mailto: subject "unsubscribe", no text
    if not body and not attachments and target_kind == "invitation":
        body = "join"  # an empty reply to an invitation still answers it
    reply = Reply(user=user, kind=target_kind, target_id=target_id, text=body,
                  subject=header(msg, "Subject"), in_reply_to=message_ids(msg, "In-Reply-To", "References"),
                  attachments=attachments, inbound_id=inbound_id, dry_run=dry_run,
                  sender_name=safe_text(sender_display_name(msg)), original=original_of(msg), calendar=calendar)

    # The gate: act only for a proven sender. The confirmation's own token address is the proof of
    # the mailbox (it was mailed there and nowhere else), so its reply passes.
    proven = (verdict.authenticated or target_kind == "confirmation"
              or _same_person(sender_proof.proven_sender(inbound_id), user, sender)
              or (user is not None and sender_proof.trusts(user.id, verdict.vouchers)))
    if not proven:
        if verdict.temporary and may_defer:
            raise SenderCheckDeferred(verdict.reason)
        if not body and not attachments and calendar is None:  # nothing to confirm, and nobody proven to tell
            outcome.action, outcome.reason = "refused", f"{verdict.as_text()}; and no reply text found"
            return outcome
        return _ask_sender(outcome, reply, user, sender, verdict, dry_run)
    explain_to = sender
    if user is not None and user.deactivated_at is not None:  # a site admin deactivated the account
        from app.services.accounts import DEACTIVATED_EXPLANATION

        outcome.action, outcome.reason = "refused", "the sender's account is deactivated"
        return _explain(outcome, msg, explain_to, "deactivated", dry_run, DEACTIVATED_EXPLANATION)

    if not body and not attachments and calendar is None:
        outcome.action, outcome.reason = "refused", "no reply text found (after removing quoted text)"
        return _explain(outcome, msg, explain_to, "empty", dry_run,
                        _("We could not find any text of your own in your reply (only quoted text), so nothing "
                          "was posted. Please write your reply above the quoted message."))

    result = actions.dispatch(reply)
    outcome.status, outcome.action, outcome.reason = result.status, result.action, result.reason
    outcome.group_id, outcome.comment_id = result.group_id, result.comment_id
    if result.explain:
        return _explain(outcome, msg, explain_to, f"{result.action}:{result.status}", dry_run, result.reason)
    return outcome


def _post_allowed(outcome: Outcome, msg: Message, group: Group, sender: str, sender_user: User | None,
                  verdict: authn.Verdict, allowed_by: int, inbound_id: int | None, dry_run: bool) -> Outcome:
    """A held non-member's message that an admin chose to post once, as the sender's own thread."""
    from app.services.accounts import create_user

    from .newthreads import post_for_stranger

    if not verdict.authenticated:  # the admin saw it proven; it must still be, or nothing is posted
        outcome.action, outcome.reason = "refused", f"{verdict.as_text()}: not posted in {sender}'s name"
        return outcome
    body, attachments = extract_reply(msg)
    outcome.body, outcome.attachments = body, [a.filename for a in attachments]
    from app import policy

    if sender_user is None and not policy.may_create_own_account(sender):  # SIGNUP keeps this address out
        outcome.action, outcome.reason = "refused", f"SIGNUP does not let {sender} have an account: not posted"
        return outcome
    if dry_run:
        user = sender_user
    else:
        user = sender_user or create_user(email=sender)  # an account no one can use without its mailbox
    reply = Reply(user=user, kind="group", target_id=group.id, text=body, subject=header(msg, "Subject"),
                  attachments=attachments, inbound_id=inbound_id, dry_run=dry_run)
    result = post_for_stranger(reply, group, allowed_by_id=allowed_by)
    outcome.status, outcome.action, outcome.reason = result.status, result.action, result.reason
    outcome.group_id, outcome.user_id = result.group_id, user.id if user is not None else None
    return outcome


def _same_person(confirmation, user: User | None, sender: str) -> bool:
    """The message's confirmation was answered by the member it claims to be from."""
    if confirmation is None:
        return False
    if user is not None:
        return confirmation.user_id == user.id
    return confirmation.user_id is None and confirmation.email.lower() == sender.lower()


def _ask_sender(outcome: Outcome, reply: Reply, user: User | None, sender: str, verdict: authn.Verdict,
                dry_run: bool) -> Outcome:
    """Nothing proves the sender: hold the message and ask the member, at their own address."""
    to = user.email if user is not None else sender  # an invitee with no account: the invited address
    preview = actions.dispatch(replace(reply, dry_run=True))  # what confirming would do, deciding nothing
    outcome.group_id = preview.group_id
    if preview.status == "held":  # it would only be held for a group's admins: holding acts for nobody
        result = actions.dispatch(reply)
        outcome.status, outcome.action, outcome.reason = result.status, result.action, result.reason
        return outcome
    if preview.status != "processed":  # it would be refused anyway; an unproven sender is not told why
        outcome.action = "refused"
        outcome.reason = f"{verdict.as_text()}; and it would not be acted on anyway: {preview.reason}"
        return outcome
    outcome.status, outcome.action = "held", sender_proof.UNCONFIRMED
    if dry_run or reply.inbound_id is None:
        outcome.reason = f"{verdict.as_text()}; would ask {to} to confirm it"
        outcome.explanation_to = None
        return outcome
    summary = confirmation_summary(preview, reply)
    asked = sender_proof.ask(inbound_id=reply.inbound_id, user=user, email=to, summary=summary,
                             original=reply.original, vouchers=verdict.vouchers)
    outcome.reason = (f"{verdict.as_text()}; " + (f"asked {to} to confirm it" if asked.mailed else
                      f"not asking {to} again for now (too many unconfirmed messages this hour)"))
    return outcome


def confirmation_summary(preview: ActionResult, reply: Reply) -> str:
    """What confirming does, in the member's words: the action, then the text quoted."""
    action = str(preview.preview)
    if not action:  # a handler that gives no preview: its dry-run reason, in English
        action = preview.reason.replace(" (dry run)", "").removeprefix("would ")
        action = action[0].upper() + action[1:] if action else _("Act on your message")
    text = reply.text if len(reply.text) <= 1500 else reply.text[:1500].rstrip() + " […]"
    quoted = "\n".join("> " + line for line in text.splitlines()) if text else "> " + _("(no text)")
    files = ("\n" + _("with %(files)s", files=", ".join(a.filename for a in reply.attachments))
             if reply.attachments else "")
    return _("%(action)s:", action=action) + f"\n\n{quoted}{files}"


def default_resolver() -> authn.Resolver:
    """Real DNS at MAIL_DNS_SERVERS (or the system's resolver)."""
    config = current_app.config
    return authn.dns_resolver(authn.parse_servers(config.get("MAIL_DNS_SERVERS")),
                              float(config.get("MAIL_DNS_TIMEOUT", 5)))


def _explain(outcome: Outcome, msg: Message, to: str | None, reason_code: str, dry_run: bool, text: str) -> Outcome:
    if to is None:
        return outcome
    outcome.explanation_to = to
    if not dry_run:
        from . import explain

        if not explain.send_explanation(to=to, reason_code=reason_code, text=text, original=msg,
                                        user_id=outcome.user_id):
            outcome.explanation_to = None
    return outcome


_NOT_OURS = "it reached no member's bounce address (an address a report names is not trusted)"


def _bounce(outcome: Outcome, kind: Classification, recipients: list[str], msg: Message, dry_run: bool) -> Outcome:
    user = bounces.user_for_report(recipients, msg)
    outcome.status = "processed"
    if user is None:
        outcome.action = "bounce_unmatched"
        outcome.reason = f"{kind.reason}; {_NOT_OURS}"
        return outcome
    outcome.user_id = user.id
    if kind.hard is None and kind.bounce_address is None:
        outcome.action, outcome.reason = "bounce_ignored", f"{kind.reason}; it reports no failure"
        return outcome
    outcome.action = "bounce_hard" if kind.hard else "bounce_soft"
    outcome.reason = bounces.record_bounce(user, hard=bool(kind.hard), detail=kind.reason, dry_run=dry_run)
    return outcome


def _complaint(outcome: Outcome, kind: Classification, recipients: list[str], msg: Message, dry_run: bool) -> Outcome:
    user = bounces.user_for_report(recipients, msg)
    outcome.status = "processed"
    if user is None:
        outcome.action = "complaint_unmatched"
        outcome.reason = f"{kind.reason}; {_NOT_OURS}"
        return outcome
    outcome.user_id = user.id
    outcome.action = "complaint_muted"
    outcome.reason = bounces.record_complaint(user, dry_run=dry_run)
    return outcome
