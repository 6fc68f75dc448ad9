"""From raw bytes (and the database) to an outcome: parse, classify, authenticate, extract, act.

`process()` is used by the job (`mail/processing.py`), the CLI (`quorum mail ingest`) and the
tests. It never raises for bad mail: every message ends with a status (processed, held,
rejected) and a reason. With `dry_run=True` it writes nothing and sends nothing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from email.message import Message

from flask import current_app

from app.extensions import db
from app.models import Group, User

from . import actions, authn, bounces
from .classify import BOUNCE, COMPLAINT, HUMAN, Classification, classify, header, parse_bytes, sender_address
from .mime import extract_reply, header_recipients, message_ids, our_trace, remember_headers, safe_text, sender_display_name
from .recipients import first_of_ours
from .reply import Reply


# --- The outcome ---------------------------------------------------------------------------

@dataclass
class Outcome:
    status: str  # processed | held | rejected
    classification: str
    action: str
    reason: str
    body: str = ""
    user_id: int | None = None
    group_id: int | None = None
    comment_id: int | None = None
    explanation_to: str | None = None  # address that was (or, dry run, would be) told why
    authentication: str = ""
    attachments: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        data = asdict(self)
        data["class"] = data.pop("classification")
        return data


def process(
    raw: bytes,
    *,
    envelope_from: str | None,
    recipients: list[str],
    dry_run: bool = False,
    inbound_id: int | None = None,
    resolver: authn.Resolver | None = None,
) -> Outcome:
    """Decide what one message means and (unless dry_run) do it."""
    config = current_app.config
    domain = config["MAIL_DOMAIN"].lower()
    msg = remember_headers(parse_bytes(raw))
    helo, ip = our_trace(msg)
    recipients = list(recipients) or header_recipients(msg)
    kind = classify(msg, envelope_from=envelope_from, our_domain=domain, our_message_id_domain=domain,
                    recipients=recipients)
    body, attachments = extract_reply(msg)
    outcome = Outcome(status="rejected", classification=kind.kind, action="none", reason=kind.reason, body=body,
                      attachments=[a.filename for a in attachments])

    if kind.kind == BOUNCE:
        return _bounce(outcome, kind, recipients, dry_run)
    if kind.kind == COMPLAINT:
        return _complaint(outcome, kind, recipients, dry_run)
    if kind.kind != HUMAN:  # auto-replies and loops never become posts, and are never answered
        outcome.action, outcome.reason = "ignored", f"{kind.kind.replace('_', '-')}: {kind.reason}"
        return outcome

    recipient, refusal = first_of_ours(recipients)
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

    # Authenticate: the sender must be the token's owner (or a verified alias), and DMARC must not fail.
    sender = sender_address(msg)
    sender = safe_text(sender) if sender else None
    auth = authn.authenticate(
        raw, msg, authserv_id=domain, resolver=resolver or default_resolver(), ip=ip, helo=helo,
        mail_from=(envelope_from or "").strip("<>"), trusted_authserv_id=config.get("TRUSTED_AUTHSERV_ID"),
    )
    outcome.authentication = auth.header
    from app.services.accounts import user_by_email

    sender_user = user_by_email(sender) if sender else None
    explain_to = sender if sender_user is not None and not auth.dmarc_failed else None
    if sender is None:
        outcome.action, outcome.reason = "refused", "no sender address (From) we can read"
        return outcome

    if recipient.kind == "reply":
        if recipient.invited_email is not None:  # the invitation was mailed to this address: it is the proof
            owner = sender_user
            matches = sender.lower() == recipient.invited_email
        else:
            owner = db.session.get(User, recipient.user_id)
            matches = sender_user is not None and owner is not None and sender_user.id == owner.id
        if not matches:
            outcome.action = "refused"
            outcome.reason = (f"From {sender} does not match the member this reply address was sent to")
            outcome.user_id = sender_user.id if sender_user else None
            return _explain(outcome, msg, explain_to, "wrong_sender", dry_run,
                            "This reply address was sent to another member, so we cannot post your reply from "
                            f"{sender}. Please reply to the notification you received yourself, or use the web page.")
        user, target_kind, target_id = owner, recipient.target.kind, recipient.target.target_id
    else:  # mail to a group's address
        if sender_user is None:  # a stranger: held for the group's admins (or refused if they blocked it)
            from .newthreads import hold_stranger

            group = db.session.get(Group, recipient.group_id)
            result = hold_stranger(None, group, sender.lower(), subject=safe_text(header(msg, "Subject")),
                                   inbound_id=inbound_id, dry_run=dry_run)
            outcome.status, outcome.action, outcome.reason = result.status, result.action, result.reason
            outcome.group_id = result.group_id
            return outcome
        user, target_kind, target_id = sender_user, "group", recipient.group_id
    outcome.user_id = user.id if user is not None else None

    if auth.dmarc_failed:
        outcome.status, outcome.action = "held", "review"
        outcome.reason = f"DMARC failed for {sender} ({auth.summary()}): held for review instead of posting"
        return outcome

    if not body and actions.command_of(header(msg, "Subject")):
        body = header(msg, "Subject").strip()  # List-Unsubscribe's mailto: subject "unsubscribe", no text
    if not body and not attachments and target_kind == "invitation":
        body = "join"  # an empty reply to an invitation still answers it
    if not body and not attachments:
        outcome.action, outcome.reason = "refused", "no reply text found (after removing quoted text)"
        return _explain(outcome, msg, explain_to, "empty", dry_run,
                        "We could not find any text of your own in your reply (only quoted text), so nothing "
                        "was posted. Please write your reply above the quoted message.")

    reply = Reply(user=user, kind=target_kind, target_id=target_id, text=body,
                  subject=header(msg, "Subject"), in_reply_to=message_ids(msg, "In-Reply-To", "References"),
                  attachments=attachments, inbound_id=inbound_id, dry_run=dry_run,
                  sender_name=safe_text(sender_display_name(msg)))
    result = actions.dispatch(reply)
    outcome.status, outcome.action, outcome.reason = result.status, result.action, result.reason
    outcome.group_id, outcome.comment_id = result.group_id, result.comment_id
    if result.explain:
        return _explain(outcome, msg, explain_to, f"{result.action}:{result.status}", dry_run, result.reason)
    return outcome


def default_resolver() -> authn.Resolver:
    """The app's resolver: one injected by tests or an operator, else real DNS."""
    injected = current_app.extensions.get("quorum_dns_resolver")
    if injected is not None:
        return injected
    return authn.system_resolver(float(current_app.config.get("MAIL_DNS_TIMEOUT", 5)))


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


def _bounce(outcome: Outcome, kind: Classification, recipients: list[str], dry_run: bool) -> Outcome:
    user = bounces.user_for_report(recipients, kind.bounce_address)
    outcome.status = "processed"
    if user is None:
        outcome.action = "bounce_unmatched"
        outcome.reason = f"{kind.reason}; no member matches {kind.bounce_address or 'the report'}"
        return outcome
    outcome.user_id = user.id
    if kind.hard is None and kind.bounce_address is None:
        outcome.action, outcome.reason = "bounce_ignored", f"{kind.reason}; it reports no failure"
        return outcome
    outcome.action = "bounce_hard" if kind.hard else "bounce_soft"
    outcome.reason = bounces.record_bounce(user, hard=bool(kind.hard), detail=kind.reason, dry_run=dry_run)
    return outcome


def _complaint(outcome: Outcome, kind: Classification, recipients: list[str], dry_run: bool) -> Outcome:
    user = bounces.user_for_report(recipients, kind.bounce_address)
    outcome.status = "processed"
    if user is None:
        outcome.action = "complaint_unmatched"
        outcome.reason = f"{kind.reason}; no member matches {kind.bounce_address or 'the report'}"
        return outcome
    outcome.user_id = user.id
    outcome.action = "complaint_muted"
    outcome.reason = bounces.record_complaint(user, dry_run=dry_run)
    return outcome
