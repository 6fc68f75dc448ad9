"""Sender authentication: SPF, DKIM and DMARC, evaluated here (or trusted from one upstream MTA).

We evaluate with pyspf, dkimpy and authheaders, every DNS lookup going through one injectable
`Resolver` (name, qtype) -> list of strings, so tests run offline with a dict of records.
The result is one `Authentication-Results` header under our own authserv-id; incoming headers
that claim our id are forgeries and are removed. Behind an operator's own MTA, that MTA's
results are trusted for its configured id (TRUSTED_AUTHSERV_ID) and for no other.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message

import spf
from authheaders import check_dkim, check_dmarc
from authheaders import dmarc_lookup
from authres import AuthenticationResultsHeader, SPFAuthenticationResult

Resolver = Callable[[str, str], list[str]]

# authheaders re-reads the Public Suffix List on every alignment check; once is enough.
if not hasattr(dmarc_lookup.get_org_domain, "cache_info"):
    dmarc_lookup.get_org_domain = functools.lru_cache(maxsize=4096)(dmarc_lookup.get_org_domain)
    import authheaders as _authheaders

    _authheaders.get_org_domain = dmarc_lookup.get_org_domain


class DNSTemporaryError(Exception):
    """A lookup timed out or the resolver failed: the result is temperror, not fail."""


@dataclass(frozen=True)
class AuthResult:
    spf: str = "none"
    dkim: str = "none"
    dmarc: str = "none"
    dmarc_policy: str = ""
    header: str = ""  # the Authentication-Results value we wrote
    source: str = "local"  # local | trusted:<authserv-id>

    @property
    def dmarc_failed(self) -> bool:
        return self.dmarc == "fail"

    def summary(self) -> str:
        return f"spf={self.spf} dkim={self.dkim} dmarc={self.dmarc}"


# Answers from real DNS, per process: {(name, qtype): (expires at, values or the error)}.
# Members' domains repeat from message to message, so most lookups are answered from here;
# a failed lookup (timeout, no reachable server) is remembered too, so a machine without
# working DNS pays the timeout once per domain, not three times per message.
_DNS_CACHE: dict[tuple[str, str], tuple[float, list[str] | DNSTemporaryError]] = {}
_DNS_CACHE_MAX = 10_000
DNS_TTL = 300.0  # seconds an answer (or "no such name") is reused
DNS_FAILURE_TTL = 60.0  # seconds a failed lookup is not retried
_dns_down_until = 0.0  # after a timeout, every lookup fails at once for a little while


def system_resolver(timeout: float = 5.0) -> Resolver:
    """Real DNS through dnspython, with a bounded lifetime per lookup, cached per process."""
    import time

    import dns.exception
    import dns.resolver

    def lookup(name: str, qtype: str) -> list[str]:
        try:
            answer = dns.resolver.resolve(name, qtype, lifetime=timeout, raise_on_no_answer=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration) as exc:
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
        global _dns_down_until
        key = (name.lower().rstrip("."), qtype.upper())
        now = time.monotonic()
        cached = _DNS_CACHE.get(key)
        if cached is not None and cached[0] > now:
            if isinstance(cached[1], DNSTemporaryError):
                raise DNSTemporaryError(str(cached[1]))
            return list(cached[1])
        if _dns_down_until > now:
            raise DNSTemporaryError("DNS did not answer recently; not asking again yet")
        if len(_DNS_CACHE) >= _DNS_CACHE_MAX:
            _DNS_CACHE.clear()
        try:
            values = lookup(key[0], key[1])
        except DNSTemporaryError as exc:
            _DNS_CACHE[key] = (now + DNS_FAILURE_TTL, exc)
            if time.monotonic() - now >= timeout * 0.9:  # it timed out: the server is unreachable
                _dns_down_until = time.monotonic() + DNS_FAILURE_TTL
            raise
        _DNS_CACHE[key] = (now + DNS_TTL, values)
        return list(values)

    return resolve


def static_resolver(records: dict[tuple[str, str], list[str]]) -> Resolver:
    """A resolver over fixed records {(name, qtype): [values]}: for tests and offline use."""
    table = {(name.lower().rstrip("."), qtype.upper()): values for (name, qtype), values in records.items()}

    def resolve(name: str, qtype: str) -> list[str]:
        return list(table.get((name.lower().rstrip("."), qtype.upper()), []))

    return resolve


# --- adapters from our Resolver to each library's idea of a DNS function -------------------

def _dkim_txt(resolver: Resolver):
    def lookup(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        try:
            values = resolver(name.rstrip("."), "TXT")
        except DNSTemporaryError as exc:
            import dkim

            raise dkim.DnsTimeoutError(str(exc)) from exc
        return values[0].encode() if values else None

    return lookup


def _dmarc_txt(resolver: Resolver):
    def lookup(name, *_args):
        try:
            values = [v for v in resolver(name.rstrip("."), "TXT") if v.startswith("v=DMARC1")]
        except DNSTemporaryError:
            return None
        # authheaders expects one record as a bare string from a test-style dnsfunc.
        return values[0] if len(values) == 1 else None

    return lookup


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


def check_spf(resolver: Resolver, *, ip: str | None, mail_from: str, helo: str) -> SPFAuthenticationResult:
    if not ip:
        return SPFAuthenticationResult(result="none", reason="no client address", smtp_mailfrom=mail_from, smtp_helo=helo)
    query = _SPFQuery(i=ip, s=mail_from or f"postmaster@{helo}", h=helo or "unknown", querytime=10)
    query.resolver = resolver
    try:
        result, _code, reason = query.check()
    except Exception as exc:  # noqa: BLE001 - a broken record is a permerror, never a crash
        result, reason = "permerror", str(exc)
    return SPFAuthenticationResult(result=result, reason=reason, smtp_mailfrom=mail_from, smtp_helo=helo)


# --- reading and writing Authentication-Results --------------------------------------------

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


def trusted_results(msg: Message, trusted_id: str) -> AuthResult | None:
    """The topmost Authentication-Results from the trusted upstream MTA, if it wrote one."""
    for value in msg.get_all("Authentication-Results") or []:
        value = str(value)
        if authserv_id_of(value) != trusted_id.lower():
            continue
        try:
            parsed = AuthenticationResultsHeader.parse("Authentication-Results: " + value)
        except Exception:  # noqa: BLE001 - an unparsable header is "no results"
            return AuthResult(header=value, source=f"trusted:{trusted_id}")
        found = {}
        for result in parsed.results:
            found.setdefault(result.method.lower(), str(result.result).lower())
        return AuthResult(spf=found.get("spf", "none"), dkim=found.get("dkim", "none"),
                          dmarc=found.get("dmarc", "none"), header=value, source=f"trusted:{trusted_id}")
    return None


def authenticate(
    raw: bytes,
    msg: Message,
    *,
    authserv_id: str,
    resolver: Resolver,
    ip: str | None = None,
    helo: str = "",
    mail_from: str = "",
    trusted_authserv_id: str | None = None,
) -> AuthResult:
    """Evaluate (or read from the trusted MTA) SPF, DKIM and DMARC; rewrite the header on `msg`."""
    remove_claims(msg, authserv_id)
    if trusted_authserv_id:
        result = trusted_results(msg, trusted_authserv_id)
        if result is not None:
            return result
    spf_result = check_spf(resolver, ip=ip, mail_from=mail_from, helo=helo)
    # DKIM is verified over the bytes as received (we prepend our own Received: line first).
    try:
        dkim_result = check_dkim(raw, dnsfunc=_dkim_txt(resolver))
    except Exception:  # noqa: BLE001 - unsigned or malformed input must not crash the pipeline
        from authres import DKIMAuthenticationResult

        dkim_result = DKIMAuthenticationResult(result="fail")
    if not _has_dkim_signature(msg):
        from authres import DKIMAuthenticationResult

        dkim_result = DKIMAuthenticationResult(result="none")
    try:
        dmarc_result = check_dmarc(raw, spf_result, dkim_result, dnsfunc=_dmarc_txt(resolver))
        dmarc, policy = str(dmarc_result.result or "none").lower(), str(getattr(dmarc_result, "policy", "") or "")
    except Exception:  # noqa: BLE001
        dmarc_result, dmarc, policy = None, "permerror", ""
    results = [r for r in (spf_result, dkim_result, dmarc_result) if r is not None]
    try:
        header = str(AuthenticationResultsHeader(authserv_id=authserv_id, results=results))
        header = header.split(":", 1)[1].strip() if header.lower().startswith("authentication-results:") else header
    except Exception:  # noqa: BLE001
        header = f"{authserv_id}; spf={spf_result.result} dkim={dkim_result.result} dmarc={dmarc}"
    header = " ".join(header.split())  # one line, whatever odd separators the From held
    msg["Authentication-Results"] = header
    return AuthResult(spf=str(spf_result.result or "none").lower(), dkim=str(dkim_result.result or "none").lower(),
                      dmarc=dmarc, dmarc_policy=policy, header=header)


def _has_dkim_signature(msg: Message) -> bool:
    return any(key.lower() == "dkim-signature" for key in msg.keys())
