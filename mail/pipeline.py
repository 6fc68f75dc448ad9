"""From raw bytes (and the database) to an outcome: parse, classify, authenticate, extract, act.

`process()` is used by the job (`jobs.process_inbound`), the CLI (`quorum mail ingest`) and the
tests. It never raises for bad mail: every message ends with a status (processed, held,
rejected) and a reason. With `dry_run=True` it writes nothing and sends nothing.
"""
from __future__ import annotations

import codecs
import email.policy
import re
from dataclasses import asdict, dataclass, field
from email.message import Message
from email.policy import EmailPolicy
from email.utils import getaddresses

from flask import current_app
from sqlalchemy import select

from app.email.addresses import BadAddress, ReplyTarget, parse_reply_local, user_id_from_bounce_token
from app.extensions import db
from app.models import Group, User

from . import actions, authn, bounces
from .classify import BOUNCE, COMPLAINT, HUMAN, Classification, classify, header, parse_bytes, raw_header, sender_address
from .htmltext import html_to_text
from .trimming import trim_reply

GROUP_HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
POSTMASTER_LOCALS = {"postmaster", "abuse"}


# --- Recipients: which of our addresses a message is for -------------------------------------

@dataclass(frozen=True)
class Recipient:
    kind: str  # reply | bounce | group | postmaster
    address: str
    target: ReplyTarget | None = None
    user_id: int | None = None
    group_id: int | None = None
    invited_email: str | None = None  # an invitation to an address with no account: From must be this


def resolve_recipient(address: str) -> Recipient:
    """Check one of our addresses; raise BadAddress with the reason a sender should read."""
    address = (address or "").strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    our_domain = current_app.config["MAIL_DOMAIN"].lower()
    if not at or not local:
        raise BadAddress("this is not an email address we serve")
    if domain.lower() != our_domain:
        raise BadAddress(f"we do not accept mail for {domain.lower()} (this server only serves {our_domain})")
    local = local.lower()
    if local.startswith("r+"):
        target = parse_reply_local(local)
        if target.kind == "invitation":
            from .commands import pending_invitation_email

            invited = pending_invitation_email(target.target_id)  # BadAddress once accepted or withdrawn
            if target.user_id == 0:
                return Recipient("reply", address, target=target, invited_email=invited)
        user = db.session.get(User, target.user_id)
        if user is None or user.deleted_at is not None:
            raise BadAddress("this reply address belongs to an account that no longer exists")
        if (user.mail_token_generation or 0) != target.generation:
            raise BadAddress("this reply address has been revoked; reply to a newer email or use the web page")
        return Recipient("reply", address, target=target, user_id=user.id)
    if local == "bounces":
        return Recipient("bounce", address)
    if local.startswith("bounces+"):
        user_id = user_id_from_bounce_token(local[len("bounces+"):])
        if user_id is None:
            raise BadAddress("this bounce address is not one we issued")
        return Recipient("bounce", address, user_id=user_id)
    if local in POSTMASTER_LOCALS:
        return Recipient("postmaster", address)
    if GROUP_HANDLE.match(local):
        group_id = db.session.scalar(select(Group.id).where(Group.handle == local, Group.archived_at.is_(None)))
        if group_id is not None:
            return Recipient("group", address, group_id=group_id)
        raise BadAddress(f"there is no group called {local} here")
    raise BadAddress("there is no such address here")


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


# --- Parsing helpers -----------------------------------------------------------------------

_WEIRD_CHARSETS = {"unicode-1-1-utf-7": "utf-7", "utf7": "utf-7", "x-unknown": "utf-8", "unknown-8bit": "utf-8"}


def decode_part(part: Message) -> str:
    """A text part's content, whatever it claims: mislabelled UTF-8 is read as UTF-8."""
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001
        data = None
    if data is None:
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    data = data.replace(b"\x00", b"")
    label = (part.get_content_charset() or "").lower()
    label = _WEIRD_CHARSETS.get(label, label)
    if label.startswith(("utf-16", "utf-32", "utf-7")):
        candidates = [label, "utf-8"]
    else:
        # Valid UTF-8 with non-ASCII bytes is almost never another charset, whatever the label says.
        candidates = ["utf-8", label, "cp1252", "latin-1"]
    for charset in candidates:
        if not charset:
            continue
        try:
            codecs.lookup(charset)
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", "replace")


def _body_parts(msg: Message) -> tuple[str | None, str | None, list[actions.Attachment]]:
    """(first text/plain, first text/html, attachments), skipping attached messages' insides."""
    plain = html = None
    attachments: list[actions.Attachment] = []

    def walk(part: Message) -> None:
        nonlocal plain, html
        if part.get_content_type() == "message/rfc822":  # a forwarded message is an attachment
            inner = part.get_payload()
            data = b"".join(p.as_bytes() for p in inner if isinstance(p, Message)) if isinstance(inner, list) else b""
            attachments.append(actions.Attachment(_filename(part) or "message.eml", "message/rfc822", data))
            return
        if part.is_multipart():
            for sub in part.get_payload() or []:
                if isinstance(sub, Message):
                    walk(sub)
            return
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
        if disposition == "attachment" or filename or ctype == "message/rfc822" or not ctype.startswith("text/"):
            try:
                data = part.get_payload(decode=True)
                if data is None and isinstance(part.get_payload(), list):
                    data = b"".join(p.as_bytes() for p in part.get_payload() if isinstance(p, Message))
            except Exception:  # noqa: BLE001
                data = b""
            if ctype.startswith("multipart/"):
                return
            attachments.append(actions.Attachment(str(filename or "attachment"), ctype, data or b""))
            return
        if ctype == "text/plain" and plain is None:
            plain = decode_part(part)
        elif ctype == "text/html" and html is None:
            html = decode_part(part)

    walk(msg)
    return plain, html, attachments


_RAW_FILENAME = re.compile(r'(?:file)?name\*?=\s*"?([^";\r\n]+)"?', re.IGNORECASE)


def _filename(part: Message) -> str | None:
    """The attachment's file name, decoding RFC 2231 and (non-standard but common) RFC 2047 words."""
    from email.header import decode_header, make_header

    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    if not name:
        for header_name in ("Content-Disposition", "Content-Type"):
            match = _RAW_FILENAME.search(raw_header(part, header_name) or "")
            if match:
                name = match.group(1).strip()
                break
    if not name:
        return None
    if "=?" in name:
        try:
            name = str(make_header(decode_header(name)))
        except Exception:  # noqa: BLE001
            pass
    return name.replace("/", "_").replace("\\", "_").strip()[:255] or None


def extract_reply(msg: Message) -> tuple[str, list[actions.Attachment]]:
    """The member's own words: text part preferred, else the HTML converted; quotes trimmed."""
    plain, html, attachments = _body_parts(msg)
    text = plain if plain and plain.strip() else (html_to_text(html) if html else "")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return trim_reply(text).strip(), attachments


def message_ids(msg: Message, *names: str) -> list[str]:
    ids: list[str] = []
    for name in names:
        ids += [i.lower() for i in re.findall(r"<([^<>\s]+)>", header(msg, name))]
    return ids


_OUR_RECEIVED = re.compile(r"^from (\S+) \(\[([0-9A-Fa-f.:]*)\]\)\s+by \S+ \(Quorum\)")


def our_trace(msg: Message) -> tuple[str, str | None]:
    """(HELO, client IP) from the Received: line our server put on top, if it is there."""
    values = msg.get_all("Received") or []
    if values:
        match = _OUR_RECEIVED.match(" ".join(str(values[0]).split()))
        if match:
            return match.group(1), match.group(2) or None
    return "", None


def header_recipients(msg: Message) -> list[str]:
    """Where the headers say it went (for `mail ingest` of a file without an envelope)."""
    values = [header(msg, name) for name in ("Delivered-To", "X-Original-To", "To", "Cc")]
    try:
        return [addr for _, addr in getaddresses(values) if "@" in addr]
    except Exception:  # noqa: BLE001
        return []


# --- The pipeline ------------------------------------------------------------------------

class _MemoHeaders(EmailPolicy):
    """The default policy, remembering parsed header values: classifying, authenticating and
    extracting read From, To, Subject, Received… a dozen times each, and the stock policy parses
    the raw value again on every read. Parsed headers are immutable, so sharing them is safe."""

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name"):
            return value
        key = (name.lower(), value)
        parsed = _PARSED_HEADERS.get(key)
        if parsed is None:
            parsed = super().header_fetch_parse(name, value)
            if len(_PARSED_HEADERS) >= 4096:
                _PARSED_HEADERS.clear()
            _PARSED_HEADERS[key] = parsed
        return parsed


_PARSED_HEADERS: dict = {}
MEMO_POLICY = _MemoHeaders()


def _remember_headers(msg: Message) -> Message:
    """Swap the parsed message's (default) policy for the remembering one; other policies stay."""
    for part in msg.walk():
        if part.policy is email.policy.default:
            part.policy = MEMO_POLICY
    return msg


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
    msg = _remember_headers(parse_bytes(raw))
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

    recipient, refusal = _our_recipient(recipients)
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

    reply = actions.Reply(user=user, kind=target_kind, target_id=target_id, text=body,
                          subject=header(msg, "Subject"), in_reply_to=message_ids(msg, "In-Reply-To", "References"),
                          attachments=attachments, inbound_id=inbound_id, dry_run=dry_run,
                          sender_name=safe_text(sender_display_name(msg)))
    result = actions.dispatch(reply)
    outcome.status, outcome.action, outcome.reason = result.status, result.action, result.reason
    outcome.group_id, outcome.comment_id = result.group_id, result.comment_id
    if result.explain:
        return _explain(outcome, msg, explain_to, f"{result.action}:{result.status}", dry_run, result.reason)
    return outcome


def sender_display_name(msg: Message) -> str:
    """The From header's display name ("Carol Jones" in `Carol Jones <carol@…>`), or ""."""
    try:
        name = getaddresses([header(msg, "From")])[0][0]
    except Exception:  # noqa: BLE001
        return ""
    return " ".join(name.split())[:100]


def safe_text(text: str) -> str:
    """Text that encodes as UTF-8 (undecodable header bytes arrive as lone surrogates)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def default_resolver() -> authn.Resolver:
    """The app's resolver: one injected by tests or an operator, else real DNS."""
    injected = current_app.extensions.get("quorum_dns_resolver")
    if injected is not None:
        return injected
    return authn.system_resolver(float(current_app.config.get("MAIL_DNS_TIMEOUT", 5)))


def _our_recipient(recipients: list[str]) -> tuple[Recipient | None, str | None]:
    refusal = None
    for address in recipients:
        try:
            return resolve_recipient(address), None
        except BadAddress as error:
            refusal = refusal or f"{address}: {error}"
    return None, refusal


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



# --- Stored messages (the job) -----------------------------------------------------------------

FINAL_STATUSES = ("processed", "held", "rejected", "discarded")


def process_stored(inbound_id: int, *, resolver: authn.Resolver | None = None) -> str:
    """Process one stored message exactly once; returns its final status.

    The claim is one conditional UPDATE, so two jobs for the same message (a retry, a sweep)
    cannot both run it; a repeat of an earlier message (same Message-ID or bytes) is discarded.
    """
    from sqlalchemy import update

    from app.models import InboundMessage, utcnow
    from app.services.inbound import earliest_copy

    from .store import read_raw

    claimed = db.session.execute(
        update(InboundMessage).where(InboundMessage.id == inbound_id, InboundMessage.status.in_(("received", "failed")))
        .values(status="processing", attempts=InboundMessage.attempts + 1)
    ).rowcount
    db.session.commit()
    row = db.session.get(InboundMessage, inbound_id)
    if row is None:
        return "missing"
    if not claimed:
        return row.status
    original = earliest_copy(row)
    if original is not None:
        row.duplicate_of_id = original
        row.status, row.action = "discarded", "duplicate"
        row.reason = f"a copy of message {original} (same Message-ID or content), processed once"
        row.processed_at = utcnow()
        db.session.commit()
        return row.status
    try:
        outcome = process(read_raw(row), envelope_from=row.envelope_from, recipients=list(row.recipients or []),
                          inbound_id=row.id, resolver=resolver)
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(InboundMessage, inbound_id)
        row.status, row.error = "failed", safe_text(f"{type(exc).__name__}: {exc}")[:2000]
        row.reason = "processing failed; an operator can reprocess it"
        db.session.commit()
        raise
    # One UPDATE: the action's commit expired the row, and re-reading it only to write it costs a query.
    db.session.execute(
        update(InboundMessage).where(InboundMessage.id == inbound_id)
        .values(status=outcome.status, classification=outcome.classification, action=outcome.action[:40],
                reason=safe_text(outcome.reason)[:2000], user_id=outcome.user_id, group_id=outcome.group_id,
                error=None, processed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return outcome.status
