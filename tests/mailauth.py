"""Real DNS for sender checks in tests: a DNS server on loopback (dnslib, UDP and TCP) that
publishes SPF, DKIM and DMARC records, and DKIM signing with keys made here.

Every test starts with the standard records (`reset()`): example.org and work.example sign their
members' mail with DKIM (selector `test`), and example.org lets 127.0.0.1 send for it by SPF. Mail built by the tests' message
helpers is signed, as a member's provider would sign it; a test of forged mail builds it unsigned
and sends it from a loopback address SPF does not allow (127.0.0.66).
"""
from __future__ import annotations

import base64
import threading

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from dnslib import QTYPE, RR, TXT
from dnslib.server import BaseResolver, DNSServer

SELECTOR = "test"
ALLOWED_SOURCE = "127.0.0.1"  # SPF allows it for example.org
FORGING_SOURCE = "127.0.0.66"  # SPF allows it for nobody


class _Key:
    def __init__(self):
        key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        self.private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                             serialization.NoEncryption())
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
        self.record = "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()


_KEYS: dict[str, _Key] = {}


def key_for(domain: str) -> _Key:
    """One signing key per domain per test process (made once: RSA key generation is slow)."""
    if domain not in _KEYS:
        _KEYS[domain] = _Key()
    return _KEYS[domain]


def sign(raw: bytes, domain: str = "example.org", selector: str = SELECTOR) -> bytes:
    """DKIM-sign `raw` as `domain`'s mail provider would (From, To, Subject, Date, Message-ID…)."""
    headers = [b"from", b"to", b"subject", b"date", b"message-id", b"in-reply-to", b"references", b"cc"]
    signature = dkim.sign(raw, selector.encode(), domain.encode(), key_for(domain).private_pem,
                          include_headers=headers)
    return signature + raw


def dkim_record(domain: str) -> tuple[tuple[str, str], list[str]]:
    return (f"{SELECTOR}._domainkey.{domain}", "TXT"), [key_for(domain).record]


SIGNING_DOMAINS = ("example.org", "work.example")  # publish their DKIM keys in the standard records


def standard_records() -> dict[tuple[str, str], list[str]]:
    records = dict(dkim_record(domain) for domain in SIGNING_DOMAINS)
    records[("example.org", "TXT")] = [f"v=spf1 ip4:{ALLOWED_SOURCE} -all"]
    return records


class Records(dict):
    """{(name, qtype): [values]} the server answers from; any change forgets cached answers."""

    def _changed(self):
        from mail.authn import forget_answers

        forget_answers()

    def __setitem__(self, key, value):
        super().__setitem__((key[0].lower().rstrip("."), key[1].upper()), list(value))
        self._changed()

    def __delitem__(self, key):
        super().__delitem__(key)
        self._changed()

    def clear(self):
        super().clear()
        self._changed()

    def update(self, *args, **kwargs):
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def reset(self):
        super().clear()
        self.update(standard_records())


class _Resolver(BaseResolver):
    def __init__(self, records: Records):
        self.records = records

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        values = self.records.get((name, qtype))
        if values is None:
            if not any(key[0] == name for key in self.records):
                reply.header.rcode = 3  # NXDOMAIN
            return reply
        for value in values:
            if qtype == "TXT":
                data = value.encode()
                chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
                reply.add_answer(RR(request.q.qname, QTYPE.TXT, rdata=TXT(chunks), ttl=60))
            else:
                reply.add_answer(*RR.fromZone(f"{name}. 60 {qtype} {value}"))
        return reply


class _QuietLogger:
    def log_recv(self, *a): pass
    def log_send(self, *a): pass
    def log_request(self, *a): pass
    def log_reply(self, *a): pass
    def log_truncated(self, *a): pass
    def log_error(self, *a): pass
    def log_data(self, *a): pass
    def log_prefix(self, *a): pass


class LoopbackDNS:
    """A real DNS server on 127.0.0.1, UDP and TCP on one port; `stop()` and `start()` again at will."""

    def __init__(self):
        self.records = Records()
        self.records.reset()
        self.port = 0
        self._servers: list[DNSServer] = []
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "LoopbackDNS":
        with self._lock:
            if self._servers:
                return self
            resolver = _Resolver(self.records)
            for attempt in range(20):
                udp = DNSServer(resolver, address="127.0.0.1", port=self.port, logger=_QuietLogger())
                port = udp.server.server_address[1]
                try:
                    tcp = DNSServer(resolver, address="127.0.0.1", port=port, tcp=True, logger=_QuietLogger())
                    break
                except OSError:  # another process has the TCP twin of a free UDP port: pick another
                    udp.server.server_close()
                    if self.port or attempt == 19:
                        raise
            self.port = port
            for server in (udp, tcp):
                server.start_thread()
            self._servers = [udp, tcp]
        from mail.authn import forget_answers

        forget_answers()  # what was learnt while it was down (failures) is not true now
        return self

    def stop(self) -> None:
        with self._lock:
            for server in self._servers:
                server.server.shutdown()
                server.server.server_close()
            self._servers = []
        from mail.authn import forget_answers

        forget_answers()
