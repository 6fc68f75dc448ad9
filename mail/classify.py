"""Tell a member's mail apart from bounces, complaints, loops and auto-replies.

Pure functions over a parsed :class:`email.message.EmailMessage` and the SMTP
envelope; the pipeline decides what to do with each kind.  Checked in this
order, because e.g. a bounce also has a null envelope sender and an
auto-reply may quote one of our Message-IDs:

complaint → bounce → loop → auto_reply → human
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import getaddresses

__all__ = [
    "HUMAN", "AUTO_REPLY", "BOUNCE", "COMPLAINT", "LOOP",
    "Classification", "classify", "parse_bytes", "sender_address",
]

HUMAN = "human"
AUTO_REPLY = "auto_reply"
BOUNCE = "bounce"
COMPLAINT = "complaint"
LOOP = "loop"


@dataclass(frozen=True)
class Classification:
    """What kind of mail this is, and why we think so.

    For a bounce, ``bounce_address`` is the address that failed and ``hard``
    says whether the failure is permanent (5.x.x) or not (4.x.x), None when the
    report does not say.  For a complaint, ``bounce_address`` is the address of
    the recipient who complained, when the report names it.
    """

    kind: str
    reason: str
    bounce_address: str | None = None
    hard: bool | None = None


# --- Parsing -----------------------------------------------------------------

def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse raw mail leniently; never raises (garbage becomes a message body)."""
    # NULs break header parsing and have no business in mail; several real
    # messages also start with blank lines, which would make everything a body.
    cleaned = raw.replace(b"\x00", b"").lstrip(b" \t\r\n")
    try:
        msg = email.message_from_bytes(cleaned, policy=email.policy.default)
        if isinstance(msg, EmailMessage):
            return msg
    except Exception:  # noqa: BLE001 - the parser is defensive, but be sure
        pass
    fallback = EmailMessage()
    fallback.set_payload(cleaned.decode("utf-8", "replace"))
    return fallback


def header(msg: Message, name: str) -> str:
    """One header as text ("" if absent); falls back to the raw value if undecodable."""
    try:
        value = msg.get(name)
        # NULs can hide in encoded words ("=?ISO-8859-1?Q?testing=00?=").
        return "" if value is None else str(value).replace("\x00", "")
    except Exception:  # noqa: BLE001 - malformed headers can make the policy raise
        return raw_header(msg, name)


def raw_header(msg: Message, name: str) -> str:
    """One header exactly as received, unfolded ("" if absent)."""
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return re.sub(r"\r?\n[ \t]", " ", str(value)).strip()
    return ""


def _addresses(value: str) -> list[str]:
    """The lower-cased addr-specs in an address header value."""
    try:
        pairs = getaddresses([value])
    except Exception:  # noqa: BLE001
        return []
    return [addr.lower() for _, addr in pairs if "@" in addr and not addr.startswith("@")]


def sender_address(msg: Message) -> str | None:
    """The From address, lower-cased, or None if missing or has no ``user@domain``."""
    try:
        parsed = [a.addr_spec for a in msg["From"].addresses] if msg["From"] is not None else []
    except Exception:  # noqa: BLE001 - fall back to the looser parsers below
        parsed = []
    for address in parsed:
        local, _, domain = address.rpartition("@")
        if local and domain and not local.startswith('"') and " " not in address:
            return address.lower()
    # "Foo [INVALID] <foo@example.com>" defeats the strict parser, but the
    # angle-bracketed address is unambiguous.
    raw = raw_header(msg, "From")
    if match := _ANGLE_ADDRESS.search(raw):
        return match.group(1).lower()
    addresses = _addresses(raw)
    return addresses[0] if addresses else None


_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s@\"]+@[^<>\s@]+\.[^<>\s@]+)\s*>")


def _domain(address: str | None) -> str:
    return address.rpartition("@")[2] if address else ""


def _local(address: str | None) -> str:
    return address.rpartition("@")[0] if address else ""


# --- Complaints (RFC 5965) and bounces (RFC 3464) ---------------------------------

def _report_type(msg: Message) -> str | None:
    if msg.get_content_type() != "multipart/report":
        return None
    return (msg.get_param("report-type") or "").lower() or None


def _report_blocks(msg: Message, content_type: str) -> list[Message]:
    """The header blocks of the report part (e.g. ``message/delivery-status``)."""
    for part in msg.walk():
        if part.get_content_type() != content_type:
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            return [block for block in payload if isinstance(block, Message)]
        if isinstance(payload, str):  # some generators do not parse it; do it ourselves
            return [email.message_from_string(block, policy=email.policy.default)
                    for block in re.split(r"\n\s*\n", payload.replace("\r\n", "\n")) if block.strip()]
    return []


def _typed_address(value: str) -> str | None:
    """``rfc822; someone@example.com`` → ``someone@example.com``."""
    _, _, address = value.rpartition(";")
    address = address.strip().strip("<>").strip().lower()
    return address if "@" in address else None


_ENHANCED_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_BASIC_STATUS = re.compile(r"\b([245])\d\d\b")


def _is_hard(status: str, diagnostic: str) -> bool | None:
    """5.x.x is permanent, 4.x.x transient; else guess from the SMTP reply code."""
    for pattern, text in ((_ENHANCED_STATUS, status), (_ENHANCED_STATUS, diagnostic),
                          (_BASIC_STATUS, diagnostic)):
        if match := pattern.search(text):
            return {"5": True, "4": False}.get(match.group(1))
    return None


def _delivery_failure(msg: Message) -> tuple[str | None, bool | None]:
    """(failed address, hard) from a DSN; the first failed recipient wins.

    A DSN that only reports success ("delivered", "relayed") names nobody.
    """
    recipients = [block for block in _report_blocks(msg, "message/delivery-status")
                  if header(block, "Final-Recipient") or header(block, "Original-Recipient")]
    failed = [b for b in recipients
              if header(b, "Action").strip().lower() not in ("delivered", "relayed", "expanded")]
    for block in failed:
        # The original recipient is the address we sent to; the final one may be
        # where it was forwarded to.
        address = (_typed_address(header(block, "Original-Recipient"))
                   or _typed_address(header(block, "Final-Recipient")))
        return address, _is_hard(header(block, "Status"), header(block, "Diagnostic-Code"))
    return None, None


# Feedback types (RFC 5965, 6591, 6650) that are a recipient's complaint; the others ("auth-failure"
# from DMARC forensic reports, "not-spam") report on the mail, not on the recipient's wishes.
_COMPLAINT_FEEDBACK_TYPES = {"abuse", "fraud", "virus", "other", "opt-out", "unsubscribe"}
_TEXT_ARF = re.compile(r"^Feedback-Type:[ \t]*([\w-]+)[ \t\r]*$", re.MULTILINE | re.IGNORECASE)
_TEXT_ARF_FIELDS = [re.compile(rf"^{name}:", re.MULTILINE | re.IGNORECASE) for name in ("User-Agent", "Version")]
# Microsoft's Junk Mail Reporting Program (Outlook.com, Hotmail) forwards the reported mail whole,
# without a feedback-report part, and names the complaining mailbox in a header of its own.
_JMRP_RECIPIENT = "X-HmXmrOriginalRecipient"
_JMRP_SUBJECT = re.compile(r"^\s*complaint about message from\b", re.IGNORECASE)


def _feedback_report(msg: Message) -> tuple[str, str] | None:
    """(feedback type, why we think so) for any abuse-report format we know, else None.

    RFC 5965 reports (``multipart/report; report-type=feedback-report``, and those that carry the
    ``message/feedback-report`` part under another multipart type), a report written out in a
    text part, and Microsoft's JMRP forwards.
    """
    report_type = _report_type(msg)
    for block in _report_blocks(msg, "message/feedback-report")[:1]:
        kind = header(block, "Feedback-Type").strip().lower() or "abuse"
        return kind, "ARF feedback report" if report_type == "feedback-report" else "feedback report part"
    if report_type == "feedback-report":
        return "abuse", "ARF feedback report"
    for part in msg.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            original = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(original, Message) and header(original, _JMRP_RECIPIENT):
                return "abuse", "Microsoft JMRP complaint"
        elif part.get_content_type() == "text/plain" and not part.is_multipart():
            try:
                text = part.get_content() if isinstance(part, EmailMessage) else str(part.get_payload())
            except Exception:  # noqa: BLE001 - an undecodable part is no report
                continue
            text = text[:20_000]
            # The first Feedback-Type line, with the report's other required fields after it.
            if (match := _TEXT_ARF.search(text)) and all(rx.search(text, match.end()) for rx in _TEXT_ARF_FIELDS):
                return match.group(1).lower(), "feedback report in a text part"
    if _JMRP_SUBJECT.search(header(msg, "Subject")) and msg.is_multipart():
        return "abuse", "Microsoft JMRP complaint"
    return None


def _complainant(msg: Message) -> str | None:
    for block in _report_blocks(msg, "message/feedback-report"):
        for name in ("Original-Rcpt-To", "Removal-Recipient"):
            if addresses := _addresses(header(block, name)):
                return addresses[0]
    for part in msg.walk():
        if part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            original = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(original, Message):
                if addresses := _addresses(header(original, _JMRP_RECIPIENT)) or _addresses(header(original, "To")):
                    return addresses[0]
    return None


_DAEMON_LOCALS = {"mailer-daemon", "postmaster", "post_master", "mail-daemon", "maildaemon", "mdaemon",
                  "mailer", "ndr", "bounce", "bounces", "mail.delivery.system", "mailerdaemon"}
# Display names mail systems sign their notices with ("Mail Delivery System <…>", "System Administrator").
_DAEMON_NAMES = re.compile(
    r"^\W*(?:mail delivery (?:system|subsystem|service)|mail administrator|system administrator"
    r"|postmaster|mailer[- ]daemon|mail system|internet mail delivery|mail transport system)\b",
    re.IGNORECASE,
)
_DSN_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status notification|failure|has failed|failed|report \(failure)"
    r"|returned (?:mail|to sender)|failure notice|mail delivery (?:failed|failure|system|problem)"
    r"|could not be delivered|cannot be delivered|non[- ]?deliver|not delivered|delivery notification"
    r"|mail (?:error|failure|system error)|message delivery has failed|permanent delivery failure"
    r"|delayed mail|message (?:has not yet been delivered|delayed)|could not send message"
    r"|error sending (?:your )?(?:mail|message)|returned mail"
    r"|unzustellbar|nicht zustellbar|non remis|no se puede entregar|no entregado|non recapitabile"
    r"|onbestelbaar|kunne ikke leveres|kan inte levereras|não entregue|не доставлено",
    re.IGNORECASE,
)
# "550 5.1.1 <a@example.org>: Recipient address rejected", "550 - Requested action not taken".
_SMTP_ERROR = re.compile(r"^[^\S\n]*(?:[<(]?[^\s@]+@[^\s@]+[>)]?:?\s+)?[45]\d\d(?:[ -]|\s[45]\.\d)", re.MULTILINE)
# A person forwarding a bounce to the group ("Fwd: Undelivered Mail …") is a person.
_FORWARDED_SUBJECT = re.compile(r"^\s*(?:fwd?|fw|wg|tr|rv|enc|doorst|vs|vb)\s*:", re.IGNORECASE)


def _first_text(msg: Message, limit: int = 20_000) -> str:
    """The first text/plain part, decoded; else the first undecoded text there is (a part whose
    multipart boundary is broken, as some mail systems write them); "" if none."""
    fallback = ""
    for part in msg.walk():
        payload = part.get_payload()
        if part.get_content_type() == "text/plain" and isinstance(payload, str):
            try:
                data = part.get_payload(decode=True) or b""
            except Exception:  # noqa: BLE001
                data = payload.encode("utf-8", "replace")
            charset = part.get_content_charset()
            return data[:limit].decode(charset if _known_charset(charset) else "utf-8", "replace")
        if isinstance(payload, str) and not fallback and part.get_content_maintype() in ("text", "multipart"):
            fallback = payload[:limit]
    return fallback


def _known_charset(name: str | None) -> bool:
    import codecs

    try:
        return bool(name) and bool(codecs.lookup(name))
    except LookupError:
        return False


def _from_mail_system(msg: Message, sender: str | None, envelope_from: str | None) -> bool:
    raw_from = header(msg, "From")
    senders = [_local(sender), _local(envelope_from) or (envelope_from or "").strip("<>").lower()]
    # Some systems tag the local part: "prvs=126700a846=ndr@…" (BATV), "MAILER-DAEMON+xyz@…".
    senders = [re.sub(r"^prvs=[^=]+=|[+].*$", "", s) for s in senders]
    display = raw_from.partition("<")[0].strip().strip('"') if "<" in raw_from else ""
    return (any(s in _DAEMON_LOCALS for s in senders) or any(d in raw_from.lower() for d in ("mailer-daemon", "postmaster"))
            or bool(display and _DAEMON_NAMES.search(display)) or bool(re.search(r"<\s*>\s*$|^\s*$", raw_from)))


# "<bob@example.net>: host mx.example.net said: 550 5.1.1 …" (Postfix and kin).
_FAILED_RECIPIENT_LINE = re.compile(r"^[^\S\n]*<([^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)>:", re.MULTILINE)


def _failure_in_text(msg: Message) -> tuple[str, bool | None] | None:
    """(address, hard) from a mail system's plain-text report, when a line names the recipient."""
    text = _first_text(msg)
    if match := _FAILED_RECIPIENT_LINE.search(text):
        return match.group(1).lower(), _is_hard("", text[match.end():match.end() + 500])
    return None


def _looks_like_daemon_bounce(msg: Message, sender: str | None, envelope_from: str | None) -> bool:
    """A notice from a mail system (MAILER-DAEMON, postmaster, "Mail Delivery System") that says a
    delivery failed, in its subject or with an SMTP error in its text: bounces without RFC 3464."""
    subject = header(msg, "Subject")
    if _FORWARDED_SUBJECT.search(subject) or not _from_mail_system(msg, sender, envelope_from):
        return False
    return bool(_DSN_SUBJECT.search(subject) or _SMTP_ERROR.search(_first_text(msg)))


class _AllFailures:
    """flufl.bounce's public scan, as one detector (should its detector list ever move)."""

    def process(self, msg: Message):
        from flufl.bounce import all_failures

        return all_failures(msg)


def _flufl_detectors() -> list:
    """flufl.bounce's detectors in the order all_failures() runs them (a private list, read as
    the pinned 6.x has it), else its public scan as a single detector."""
    try:
        from flufl.bounce import _scan

        return list(_scan._DETECTORS)
    except (ImportError, AttributeError):
        return [_AllFailures]


# flufl.bounce's last detectors are, in its own words, "generic and other heuristic" ones: they read
# any text for "address ... failed"-like lines, and a person's reply can look like that (a quoted
# "----- Original Message -----" block with a list of addresses).  Their finding counts only for
# mail whose subject says a delivery failed, or that comes from a mail system.
_HEURISTIC_DETECTORS = {"SimpleMatch", "SimpleWarning", "LLNL"}


def _second_opinion(msg: Message, sender: str | None, envelope_from: str | None) -> tuple[str | None, bool | None] | None:
    """(failed address, hard) when ``flufl.bounce`` (Mailman's detectors, many formats that are no
    RFC 3464 report) finds a failed recipient; None when it finds none."""
    subject = header(msg, "Subject")
    if _FORWARDED_SUBJECT.search(subject):
        return None
    # A person's mail (an answer, or a new thread about "our mail server's errors" with a bounce
    # pasted in) is no bounce for a heuristic: it needs a subject or a sender a mail system uses.
    a_persons_mail = not _DSN_SUBJECT.search(subject) and not _from_mail_system(msg, sender, envelope_from)
    temporary: set = set()
    permanent: set = set()
    # flufl.bounce's own scan stops at the first detector that raises; run them one by one so a
    # detector tripping over odd mail (it happens: a missing From) leaves the others their say.
    for detector in _flufl_detectors():
        if a_persons_mail and detector.__name__ in _HEURISTIC_DETECTORS:
            continue
        try:
            found_temporary, found_permanent = detector().process(msg)
        except Exception:  # noqa: BLE001 - its heuristics must never cost us a message
            continue
        temporary, permanent = set(found_temporary), set(found_permanent)
        if temporary or permanent:
            break
    for addresses, hard in ((permanent, True), (temporary, False)):
        for address in sorted(addresses):
            text = address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)
            if "@" in text:
                return text.strip("<>").lower(), hard
    return None


# Mailing-list software answering for a list (Mailman, Sympa, ezmlm, fml, LISTSERV, Majordomo,
# Google Groups): its own notices ("awaits moderator approval", "Loop Alert") and its digests.
# The programs' own addresses name them; a list's role addresses (garden-owner@) only with a list header.
_LIST_PROGRAM_LOCALS = re.compile(r"^(?:majordomo|listserv|sympa|ezmlm|mailman|listar|lyris|ecartis|smartlist|listproc)$")
_LIST_ROLE_LOCALS = re.compile(r"^(?:.+-(?:bounces?|owner|request|admin|help|errors)|owner-.+)$")
_LIST_MANAGER_HEADERS = ("X-MLServer", "X-Ezmlm-Version", "X-Sympa-To", "X-Listserver", "X-Listprocessor-Version",
                         "X-List-Administrivia", "X-Majordomo-Version", "X-Google-Group-Id", "Mailing-List",
                         "X-Mailman-Version", "List-Id")
_DIGEST_SUBJECT = re.compile(r"\bdigest\b.*\b(?:vol(?:ume)?|issue|#)\s*\d|^\s*\[?[\w .-]+\]? digest\b", re.IGNORECASE)
_REPLY_SUBJECT = re.compile(r"^\s*(?:re|aw|sv|antw|r|ref)\s*:", re.IGNORECASE)


def _list_software_reason(msg: Message, sender: str | None) -> str | None:
    subject = header(msg, "Subject")
    if _REPLY_SUBJECT.search(subject) or _FORWARDED_SUBJECT.search(subject):
        return None  # a person answering or passing on a digest
    if msg.get_content_type() == "multipart/digest" or (_DIGEST_SUBJECT.search(subject) and header(msg, "List-Id")):
        return "a mailing-list digest"
    present = {key.lower() for key in msg.keys()}
    local = _local(sender)
    if _LIST_PROGRAM_LOCALS.match(local) or (
            _LIST_ROLE_LOCALS.match(local) and any(h.lower() in present for h in _LIST_MANAGER_HEADERS)):
        return f"a notice from mailing-list software ({sender})"
    if header(msg, "X-List-Administrivia").strip().lower() == "yes":
        return "a mailing-list administrative notice"
    return None


def _is_our_bounce_address(address: str, our_domain: str) -> bool:
    local, _, domain = address.rpartition("@")
    return domain == our_domain and (local == "bounces" or local.startswith("bounces+"))


# --- Loops ---------------------------------------------------------------------

# Addresses we send from or receive on; mail *from* them is our own mail coming back:
# notifications@, bounces@ and bounces+<token>@, reply addresses r+<token>@ (and
# Discourse-style reply@/reply+<key>@), no-reply@.
_OWN_LOCALS = {"notifications", "bounces", "reply", "noreply", "no-reply"}
_OWN_TAGGED_LOCALS = {"r"}  # only with a "+<token>"


def _is_own_address(address: str | None, our_domain: str, own_addresses: Collection[str]) -> bool:
    if not address:
        return False
    if address in own_addresses:
        return True
    local, _, domain = address.rpartition("@")
    base, plus, _ = local.partition("+")
    return domain == our_domain and (base in _OWN_LOCALS or (plus and base in _OWN_TAGGED_LOCALS))


def _message_ids(msg: Message, *names: str) -> list[str]:
    ids: list[str] = []
    for name in names:
        ids += [i.lower() for i in re.findall(r"<([^<>\s]+)>", header(msg, name))]
    return ids


def _loop_reason(msg: Message, sender: str | None, *, our_domain: str,
                 our_message_id_domain: str, own_addresses: Collection[str]) -> str | None:
    if header(msg, "X-Quorum-Loop"):
        return "X-Quorum-Loop header present"
    list_id = header(msg, "List-Id").lower()
    if our_domain and re.search(rf"[.<]{re.escape(our_domain)}>?\s*$", list_id):
        return "carries our List-Id"
    if _is_own_address(sender, our_domain, own_addresses):
        return f"sent from our own address {sender}"
    # Our Message-ID on mail from our domain: our own outgoing mail came back.
    # (Not In-Reply-To: every member's reply carries one of ours there.)
    ours = [i for i in _message_ids(msg, "Message-ID") if _domain(i) == our_message_id_domain]
    if ours and _domain(sender) == our_domain:
        return f"our own Message-ID <{ours[0]}> from our domain"
    return None


# --- Auto-replies (RFC 3834 and folklore) -------------------------------------------

_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
# Set by vacation responders and autoresponders.  Deliberately missing:
# X-Auto-Response-Suppress, which Outlook adds to ordinary mail.
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autoreply-From",
                 "X-Mail-Autoreply", "X-Autogenerated", "X-FC-MachineGenerated", "X-Cron-Env")
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:"
    r"out of (?:the )?office(?: autoreply)?|automatic reply|auto[- ]?reply|auto[- ]?response"
    r"|autosvar|automatiskt svar|automatisk svar|abwesenheitsnotiz|automatische antwort"
    r"|réponse automatique|reponse automatique|respuesta automática|respuesta automatica"
    r"|fuera de la oficina|risposta automatica|fuori sede|automatisch antwoord|afwezig"
    r"|frånvaro|frånvaromeddelande|automaattinen vastaus|resposta automática|resposta automatica"
    r"|odpowiedź automatyczna|автоматический ответ|自动回复|自動回覆|自動応答|자동 응답"
    r"|on vacation|vacation reply"
    r")\s*(?::|$)",
    re.IGNORECASE,
)
_NO_REPLY_LOCAL = re.compile(r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer-daemon|postmaster)(?:[+-].*)?$")


def _auto_reply_reason(msg: Message, sender: str | None, envelope_from: str | None) -> str | None:
    auto_submitted = header(msg, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("Precedence", "X-Precedence"):
        if (value := header(msg, name).strip().lower()) in _AUTO_PRECEDENCE:
            return f"{name}: {value}"
    present = {key.lower() for key in msg.keys()}
    for name in _AUTO_HEADERS:
        if name.lower() in present and header(msg, name).strip().lower() not in ("no", "false", "0"):
            return f"{name} header present"
    if _AUTO_SUBJECT.search(subject := header(msg, "Subject")):
        return f"auto-reply subject {subject[:40]!r}"
    if envelope_from is not None and envelope_from.strip() in ("", "<>"):
        return "null envelope sender"
    if sender and _NO_REPLY_LOCAL.match(_local(sender)):
        return f"sent from {sender}"
    return None


# --- Read receipts (RFC 8098 and Outlook's own) ----------------------------------------

_RECEIPT_SUBJECT = re.compile(
    r"^\s*(?:read|not read|read receipt|return receipt|gelesen|ungelesen|lu|non lu|leído|no leído|gelezen"
    r"|niet gelezen|lido|não lido|læst|ikke læst|läst|letto|non letto)\s*:", re.IGNORECASE)
_RECEIPT_TEXT = re.compile(r"\bwas read on\b|\bwurde am .{0,40} gelesen\b|\ba été lu le\b|\bse leyó el\b"
                           r"|\bis gelezen op\b|\bfoi lida em\b|\bblev læst\b", re.IGNORECASE)


def _receipt_reason(msg: Message, report_type: str | None) -> str | None:
    """A read receipt: a disposition notification, or Outlook's "Read: …" message."""
    if report_type == "disposition-notification" or any(
            part.get_content_type() == "message/disposition-notification" for part in msg.walk()):
        return "read receipt (disposition notification)"
    if _RECEIPT_SUBJECT.search(header(msg, "Subject")) and _RECEIPT_TEXT.search(_first_text(msg, 4000)):
        return "read receipt"
    return None


# --- The classifier ------------------------------------------------------------

def classify(
    msg: Message,
    *,
    envelope_from: str | None,
    our_domain: str,
    our_message_id_domain: str,
    recipients: Iterable[str] = (),
    own_addresses: Collection[str] = (),
) -> Classification:
    """Classify incoming mail as human, auto_reply, bounce, complaint or loop.

    ``envelope_from`` is the SMTP MAIL FROM ("" or "<>" for the null sender,
    None if unknown), ``recipients`` the RCPT TO addresses, ``own_addresses``
    extra addresses of ours (e.g. group handles) besides notifications@,
    bounces@ and reply@ on ``our_domain``.
    """
    our_domain = our_domain.lower()
    our_message_id_domain = our_message_id_domain.lower()
    own = {a.lower() for a in own_addresses}
    sender = sender_address(msg)
    envelope = (envelope_from or "").strip().strip("<>").lower() or None

    report_type = _report_type(msg)
    if feedback := _feedback_report(msg):
        feedback_type, why = feedback
        if feedback_type in _COMPLAINT_FEEDBACK_TYPES:
            return Classification(COMPLAINT, why, _complainant(msg))
        # A DMARC failure report and its like: automatic, and nobody asked to stop.
        return Classification(AUTO_REPLY, f"{why} (feedback type {feedback_type})")

    to_bounce_address = [r for r in recipients if _is_our_bounce_address(r.strip("<>").lower(), our_domain)]
    if report_type == "delivery-status":
        reason = "delivery status notification"
    elif to_bounce_address:
        reason = f"sent to our bounce address {to_bounce_address[0]}"
    elif _looks_like_daemon_bounce(msg, sender, envelope):
        reason = "mailer-daemon notice"
    else:
        reason = None
    if reason:
        address, hard = _delivery_failure(msg)
        if address is None and (opinion := _second_opinion(msg, sender, envelope) or _failure_in_text(msg)):
            address, hard = opinion
        return Classification(BOUNCE, reason, address, hard)
    if opinion := _second_opinion(msg, sender, envelope):
        return Classification(BOUNCE, "a bounce format flufl.bounce recognises", *opinion)

    if loop := _loop_reason(msg, sender, our_domain=our_domain,
                            our_message_id_domain=our_message_id_domain, own_addresses=own):
        return Classification(LOOP, loop)

    if auto := (_receipt_reason(msg, report_type) or _list_software_reason(msg, sender)
                or _auto_reply_reason(msg, sender, envelope_from)):
        return Classification(AUTO_REPLY, auto)

    return Classification(HUMAN, "no sign of automation")
