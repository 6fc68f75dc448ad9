"""Sender proof: is this message really from the domain its From address names?

A message is *authenticated* when SPF or DKIM passes for a domain aligned with the From
domain (DMARC's relaxed alignment: the same organisational domain), whether or not that
domain publishes a DMARC record, or when the operator's own MTA says so in an
`Authentication-Results` header under TRUSTED_AUTHSERV_ID. Nothing else counts: a valid reply
token is a second factor, never a substitute, and a DNS failure is never a pass — it makes
the verdict *temporary*, and the caller tries again later.

Every lookup goes through one `Resolver` (name, qtype) -> list of strings: real DNS through
dnspython, at the servers in MAIL_DNS_SERVERS (`host:port`, comma-separated) or the system's.
The verdict is written on the message as one `Authentication-Results` header under our own
authserv-id; incoming headers claiming our id are forgeries and are removed first.
"""
from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message

import dkim
import spf
from authres import AuthenticationResultsHeader
from publicsuffix2 import get_tld

Resolver = Callable[[str, str], list[str]]


class DNSTemporaryError(Exception):
    """A lookup timed out or no server answered: the result is unknown, never a pass or a fail."""


# --- The verdict ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    authenticated: bool
    reason: str  # in words, for operators, `mail ingest --json` and the stored row
    method: str = ""  # spf | dkim | upstream: what proved it
    domain: str = ""  # the aligned domain that vouched for the From address
    temporary: bool = False  # DNS failed: we could not tell (retry; never acted on as a pass)
    spf: str = "none"
    spf_domain: str = ""
    dkim: str = "none"
    dkim_domains: tuple[str, ...] = ()  # domains whose signature verified (aligned or not)
    dmarc: str = "none"  # pass | fail (a policy is published and nothing aligned passed) | none | temperror
    dmarc_policy: str = ""
    from_domain: str = ""
    header: str = ""  # the Authentication-Results value we wrote
    source: str = "local"  # local | trusted:<authserv-id>
    vouchers: tuple[tuple[str, str], ...] = field(default=())  # passing but unaligned (method, domain)

    def summary(self) -> str:
        return f"spf={self.spf} dkim={self.dkim} dmarc={self.dmarc}"

    def as_text(self) -> str:
        """One line stored with the message: `authenticated (dkim example.org)` or `not authenticated: …`."""
        if self.authenticated:
            return f"authenticated ({self.method} {self.domain})"
        return ("unknown (DNS failed): " if self.temporary else "not authenticated: ") + self.reason


def org_domain(domain: str) -> str:
    """The organisational domain (RFC 7489 §3.2): the public suffix plus one label. A top-level
    domain missing from the Public Suffix List counts as a public suffix ("*")."""
    domain = (domain or "").lower().strip(".")
    return _org_domain(domain) if domain else ""


@functools.lru_cache(maxsize=4096)
def _org_domain(domain: str) -> str:
    labels = domain.split(".")
    suffix = get_tld(domain, strict=True) or labels[-1]
    depth = suffix.count(".") + 2
    return ".".join(labels[-depth:]) if len(labels) >= depth else domain


def aligned(domain: str, from_domain: str) -> bool:
    return bool(domain and from_domain) and org_domain(domain) == org_domain(from_domain)


def _domain_of(address: str) -> str:
    return (address or "").rpartition("@")[2].strip().strip(">").lower().rstrip(".")


# --- DNS ---------------------------------------------------------------------------------

# Answers from real DNS, per process: {(servers, name, qtype): (expires at, values or the error)}.
# Members' domains repeat from message to message, so most lookups are answered from here; a
# failed lookup is remembered briefly too, so a machine without working DNS pays the timeout
# once per domain, not once per record of every message.
_DNS_CACHE: dict[tuple, tuple[float, list[str] | DNSTemporaryError]] = {}
_DNS_CACHE_MAX = 10_000
DNS_TTL = 300.0  # seconds an answer (or "no such name") is reused
DNS_FAILURE_TTL = 30.0  # seconds a failed lookup is not retried
_down_until: dict[tuple, float] = {}  # after a timeout, each server set fails at once for a little while


def forget_answers() -> None:
    """Drop every cached answer (tests that change their DNS server's records call this)."""
    _DNS_CACHE.clear()
    _down_until.clear()


def parse_servers(value: str | None) -> tuple[tuple[str, int], ...]:
    """`127.0.0.1:5353, [::1]:53, 10.0.0.2` → ((host, port), …); empty means the system's."""
    servers = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or "]" in port or (host.count(":") and not host.startswith("[")):
            host, port = item, "53"  # a bare host, or a bare IPv6 address
        servers.append((host.strip("[]"), int(port)))
    return tuple(servers)


def dns_resolver(servers: tuple[tuple[str, int], ...] = (), timeout: float = 5.0) -> Resolver:
    """Real DNS through dnspython (at `servers`, or the system's), bounded per lookup, cached."""
    import dns.exception
    import dns.nameserver
    import dns.resolver

    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in servers]
    else:
        resolver = dns.resolver.Resolver()
    resolver.retry_servfail = False

    def lookup(name: str, qtype: str) -> list[str]:
        try:
            answer = resolver.resolve(name, qtype, lifetime=timeout, raise_on_no_answer=False, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration,
                dns.resolver.LifetimeTimeout, OSError) as exc:
            raise DNSTemporaryError(str(exc) or type(exc).__name__) from exc
        out = []
        for record in answer:
            if qtype == "TXT":
                out.append(b"".join(record.strings).decode("utf-8", "replace"))
            elif qtype == "MX":
                out.append(f"{record.preference} {str(record.exchange).rstrip('.')}")
            else:
                out.append(record.to_text().rstrip("."))
        return out

    def resolve(name: str, qtype: str) -> list[str]:
        key = (servers, name.lower().rstrip("."), qtype.upper())
        now = time.monotonic()
        cached = _DNS_CACHE.get(key)
        if cached is not None and cached[0] > now:
            if isinstance(cached[1], DNSTemporaryError):
                raise DNSTemporaryError(str(cached[1]))
            return list(cached[1])
        if _down_until.get(servers, 0.0) > now:
            raise DNSTemporaryError("DNS did not answer a moment ago; not asking again yet")
        if len(_DNS_CACHE) >= _DNS_CACHE_MAX:
            _DNS_CACHE.clear()
        try:
            values = lookup(key[1], key[2])
        except DNSTemporaryError as exc:
            _DNS_CACHE[key] = (now + DNS_FAILURE_TTL, exc)
            if time.monotonic() - now >= timeout * 0.9:  # it timed out: the servers are unreachable
                _down_until[servers] = time.monotonic() + DNS_FAILURE_TTL
            raise
        _DNS_CACHE[key] = (now + DNS_TTL, values)
        return list(values)

    return resolve


# --- SPF (pyspf) and DKIM (dkimpy), each asking our resolver --------------------------------

class _SPFQuery(spf.query):
    """pyspf's query with its DNS replaced by our resolver."""

    resolver: Resolver

    def dns(self, name, qtype, cnames=None, ignore_void=False):
        name = str(name).rstrip(".").lower()
        try:
            values = self.resolver(name, qtype)
        except DNSTemporaryError as exc:
            raise spf.TempError(f"DNS error: {exc}") from exc
        if qtype in ("TXT", "SPF"):
            return [[v.encode()] for v in values]
        if qtype == "MX":
            out = []
            for value in values:
                pref, _, host = value.partition(" ")
                out.append((int(pref or 0), host))
            return out
        return values


def check_spf(resolver: Resolver, *, ip: str | None, mail_from: str, helo: str) -> tuple[str, str, str]:
    """(result, the domain checked, reason). The domain is MAIL FROM's, or HELO's for a null sender."""
    domain = _domain_of(mail_from) or (helo or "").lower()
    if not ip:
        return "none", domain, "no client address (the message did not arrive over SMTP here)"
    query = _SPFQuery(i=ip, s=mail_from or f"postmaster@{helo}", h=helo or "unknown", querytime=10)
    query.resolver = resolver
    try:
        result, _code, reason = query.check()
    except Exception as exc:  # noqa: BLE001 - a broken record is a permerror, never a crash
        result, reason = "permerror", str(exc)
    return str(result).lower(), domain, str(reason)


def _dkim_dns(resolver: Resolver):
    def lookup(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        try:
            values = resolver(name.rstrip("."), "TXT")
        except DNSTemporaryError as exc:
            raise dkim.DnsTimeoutError(str(exc)) from exc
        return values[0].encode() if values else None

    return lookup


_DKIM_LOG = logging.getLogger("quorum.dkim")  # dkimpy logs every unsigned or unknown key as an ERROR
_DKIM_LOG.propagate = False
_DKIM_LOG.addHandler(logging.NullHandler())


class _DKIM(dkim.DKIM):
    """dkimpy's verifier, letting a key lookup that timed out be told apart from a bad signature."""

    timed_out = False

    def __init__(self, message, **kwargs):
        super().__init__(message, logger=_DKIM_LOG, **kwargs)

    def verify_sig(self, sig, include_headers, sig_header, dnsfunc):
        name = sig[b"s"] + b"._domainkey." + sig[b"d"] + b"."
        try:
            dnsfunc(name, timeout=self.timeout)
        except dkim.DnsTimeoutError:
            self.timed_out = True
            return False
        return super().verify_sig(sig, include_headers, sig_header, dnsfunc)


def check_dkim(raw: bytes, msg: Message, resolver: Resolver) -> tuple[str, tuple[str, ...], bool]:
    """(pass | fail | none, domains with a verified signature, whether a key lookup failed)."""
    count = sum(1 for key in msg.keys() if key.lower() == "dkim-signature")
    if not count:
        return "none", (), False
    passed: list[str] = []
    temporary = False
    for index in range(min(count, 5)):  # more signatures than that is an attack, not a mail client
        verifier = None
        try:
            verifier = _DKIM(raw, timeout=5)
            ok = verifier.verify(idx=index, dnsfunc=_dkim_dns(resolver))
        except Exception:  # noqa: BLE001 - a malformed message or signature fails; it never crashes the pipeline
            ok = False
        if verifier is None:
            break
        temporary = temporary or verifier.timed_out
        if ok and verifier.domain and b"from" in (verifier.include_headers or ()):
            passed.append(verifier.domain.decode("ascii", "replace").lower())
    return ("pass" if passed else "fail"), tuple(dict.fromkeys(passed)), temporary and not passed


def dmarc_policy(resolver: Resolver, from_domain: str) -> tuple[str, bool]:
    """(the p= the From domain publishes, at itself or its organisational domain, or ""; temporary)."""
    for name in dict.fromkeys((from_domain, org_domain(from_domain))):
        if not name:
            continue
        try:
            records = [v for v in resolver(f"_dmarc.{name}", "TXT") if v.lower().startswith("v=dmarc1")]
        except DNSTemporaryError:
            return "", True
        if len(records) == 1:
            tags = dict(part.strip().partition("=")[::2] for part in records[0].split(";") if "=" in part)
            return tags.get("p", "none").strip().lower() or "none", False
    return "", False


# --- Reading and writing Authentication-Results ---------------------------------------------

_AUTHSERV = re.compile(r"^\s*([^\s;]+)")


def authserv_id_of(value: str) -> str:
    match = _AUTHSERV.match(value or "")
    return match.group(1).lower() if match else ""


def remove_claims(msg: Message, authserv_id: str) -> int:
    """Delete incoming Authentication-Results that claim our id (forged). Returns how many."""
    keep = []
    removed = 0
    for value in msg.get_all("Authentication-Results") or []:
        if authserv_id_of(str(value)) == authserv_id.lower():
            removed += 1
        else:
            keep.append(value)
    if removed:
        del msg["Authentication-Results"]
        for value in keep:
            msg["Authentication-Results"] = value
    return removed


def upstream_verdict(msg: Message, trusted_id: str, from_domain: str) -> Verdict | None:
    """The verdict of the trusted upstream MTA, from its topmost Authentication-Results, if any.

    It proves the sender as our own check would: DMARC pass for this From domain, or SPF or
    DKIM pass for a domain aligned with it. A temporary error it reports is temporary here too.
    """
    for value in msg.get_all("Authentication-Results") or []:
        value = " ".join(str(value).split())
        if authserv_id_of(value) != trusted_id.lower():
            continue
        try:
            results = AuthenticationResultsHeader.parse("Authentication-Results: " + value).results
        except Exception:  # noqa: BLE001 - an unparsable header proves nothing
            results = []
        found: dict[str, list[tuple[str, str]]] = {}
        for result in results:
            props = {f"{p.type}.{p.name}".lower(): str(p.value).lower() for p in getattr(result, "properties", [])}
            domain = (props.get("smtp.mailfrom") or props.get("header.d") or props.get("header.from")
                      or props.get("smtp.helo") or props.get("header.i") or "")
            found.setdefault(str(result.method).lower(), []).append((str(result.result).lower(), _domain_of(domain)))
        common = {"header": value, "source": f"trusted:{trusted_id}", "from_domain": from_domain,
                  "spf": _first(found.get("spf")), "dkim": _first(found.get("dkim")),
                  "dmarc": _first(found.get("dmarc"))}
        for method in ("dmarc", "dkim", "spf"):
            for result, domain in found.get(method, []):
                if result == "pass" and aligned(domain or (from_domain if method == "dmarc" else ""), from_domain):
                    return Verdict(True, f"{trusted_id} reports {method}=pass for {domain or from_domain}",
                                   method="upstream", domain=domain or from_domain, **common)
        temporary = any(result == "temperror" for results in found.values() for result, _ in results)
        reason = (f"{trusted_id} could not check the sender (temperror)" if temporary
                  else f"{trusted_id} reports no aligned pass for {from_domain} ({value.partition(';')[2].strip()[:200]})")
        return Verdict(False, reason, temporary=temporary, **common)
    return None


def _first(results: list[tuple[str, str]] | None) -> str:
    return results[0][0] if results else "none"


def authenticate(
    raw: bytes,
    msg: Message,
    *,
    from_address: str,
    authserv_id: str,
    resolver: Resolver,
    ip: str | None = None,
    helo: str = "",
    mail_from: str = "",
    trusted_authserv_id: str | None = None,
) -> Verdict:
    """Decide whether `from_address` is proven by this message; write our header on `msg`."""
    remove_claims(msg, authserv_id)
    from_domain = _domain_of(from_address)
    if len(msg.get_all("From") or []) > 1:  # which one would a signature or a member's eye vouch for?
        header = f"{authserv_id}; dmarc=fail header.from={from_domain} (more than one From header)"
        msg["Authentication-Results"] = header
        return Verdict(False, "the message has more than one From header", from_domain=from_domain,
                       dmarc="fail", header=header)
    if trusted_authserv_id:
        verdict = upstream_verdict(msg, trusted_authserv_id, from_domain)
        if verdict is not None:
            return verdict

    spf_result, spf_domain, spf_reason = check_spf(resolver, ip=ip, mail_from=mail_from, helo=helo)
    dkim_result, dkim_domains, dkim_temporary = check_dkim(raw, msg, resolver)
    policy, dmarc_temporary = dmarc_policy(resolver, from_domain)

    proof = next((("dkim", d) for d in dkim_domains if aligned(d, from_domain)), None)
    if proof is None and spf_result == "pass" and aligned(spf_domain, from_domain):
        proof = ("spf", spf_domain)
    vouchers = tuple([("dkim", d) for d in dkim_domains if not aligned(d, from_domain)]
                     + ([("spf", spf_domain)] if spf_result == "pass" and not aligned(spf_domain, from_domain) else []))
    temporary = proof is None and (spf_result == "temperror" or dkim_temporary)
    if proof is not None:
        dmarc, reason = "pass", f"{proof[0]} passed for {proof[1]}, aligned with the From domain {from_domain}"
    else:
        dmarc = "temperror" if temporary or dmarc_temporary else ("fail" if policy else "none")
        reason = _why_not(from_domain, spf_result, spf_domain, spf_reason, dkim_result, dkim_domains, temporary)

    header = _header(authserv_id, spf=(spf_result, spf_domain), dkim=(dkim_result, dkim_domains),
                     dmarc=(dmarc, from_domain, policy))
    msg["Authentication-Results"] = header
    return Verdict(proof is not None, reason, method=proof[0] if proof else "", domain=proof[1] if proof else "",
                   temporary=temporary, spf=spf_result, spf_domain=spf_domain, dkim=dkim_result,
                   dkim_domains=dkim_domains, dmarc=dmarc, dmarc_policy=policy, from_domain=from_domain,
                   header=header, vouchers=vouchers)


def _why_not(from_domain, spf_result, spf_domain, spf_reason, dkim_result, dkim_domains, temporary) -> str:
    if temporary:
        return f"DNS did not answer while checking {from_domain} (spf={spf_result}, dkim={dkim_result})"
    parts = [f"SPF {spf_result}" + (f" for {spf_domain}" if spf_domain else "")
             + (" (not the From domain)" if spf_result == "pass" else "")]
    if dkim_result == "none":
        parts.append("no DKIM signature")
    elif dkim_domains:
        parts.append("DKIM signed by " + ", ".join(dkim_domains) + " (not the From domain)")
    else:
        parts.append("DKIM signature did not verify")
    return f"nothing proves {from_domain}: " + "; ".join(parts)


def _header(authserv_id: str, *, spf: tuple[str, str], dkim: tuple[str, tuple[str, ...]],
            dmarc: tuple[str, str, str]) -> str:
    """`quorum.test; spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org; dmarc=pass header.from=…`"""
    def clean(value: str) -> str:
        return re.sub(r"[^A-Za-z0-9.\-_]", "", value)[:253]

    parts = [clean(authserv_id), f"spf={spf[0]}" + (f" smtp.mailfrom={clean(spf[1])}" if spf[1] else "")]
    if dkim[1]:
        parts += [f"dkim=pass header.d={clean(d)}" for d in dkim[1]]
    else:
        parts.append(f"dkim={dkim[0]}")
    parts.append(f"dmarc={dmarc[0]}" + (f" (p={clean(dmarc[2])})" if dmarc[2] else "")
                 + (f" header.from={clean(dmarc[1])}" if dmarc[1] else ""))
    return "; ".join(parts)
