"""GNU Mailman 3 core beside Quorum's delivery, inbound and memory figures.

Its own var dir and mailman.cfg: LMTP on a free loopback port, `[mta] smtp_host/port` at a counting
aiosmtpd sink in this process (bench/delivery.py's CountingSink), the REST API on loopback, no MTA
integration. A 40-member list is made with Mailman's Python API (mailman_seed.py, run by Mailman's own
venv); `master` runs every default runner in its own process group. Posts go in over LMTP from the same
number of clients as Quorum's replies go in over SMTP.
"""
from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from pathlib import Path

from ..delivery import GROUP_SIZE, CountingSink
from ..mail import send_burst
from ..stack import free_port, pss_kb, process_name, rss_kb, wait_for_port, wait_until_steady
from .scratch import PeerUnavailable, ensure_venv

PINS = ["mailman==3.3.10"]
LIST = "bench@lists.bench.example"
SEED = Path(__file__).with_name("mailman_seed.py")


def write_config(var_dir: Path, lmtp_port: int, smtp_port: int, rest_port: int) -> Path:
    """mailman.cfg for a scratch site: everything under var_dir, every socket on 127.0.0.1."""
    var_dir.mkdir(parents=True, exist_ok=True)
    text = f"""\
[paths.bench]
var_dir: {var_dir}

[mailman]
layout: bench
site_owner: owner@lists.bench.example

[database]
class: mailman.database.sqlite.SQLiteDatabase
url: sqlite:///$DATA_DIR/mailman.db

[mta]
incoming: mailman.mta.null.NullMTA
lmtp_host: 127.0.0.1
lmtp_port: {lmtp_port}
smtp_host: 127.0.0.1
smtp_port: {smtp_port}
smtp_secure_mode: smtp

[webservice]
hostname: 127.0.0.1
port: {rest_port}
"""
    path = var_dir / "mailman.cfg"
    path.write_text(text)
    return path


def build_posts(n: int, members: list[str], tag: str) -> list[tuple[str, str, bytes]]:
    """(envelope from, list address, bytes) for n posts from the members in turn, like bench/mail.py's replies."""
    out = []
    for i in range(n):
        sender = members[i % len(members)]
        msg = EmailMessage()
        msg["From"] = f"Member {i % len(members)} <{sender}>"
        msg["To"] = LIST
        msg["Subject"] = "Re: Delivery bench thread"
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = make_msgid(idstring=f"{tag}{i}", domain="bench.example")
        msg.set_content(f"Sounds good to me. Reply {i} from the bench; I can help on Saturday.\n")
        out.append((sender, LIST, msg.as_bytes()))
    return out


def send_lmtp(port: int, posts: list[tuple[str, str, bytes]], clients: int, timeout: float) -> dict:
    """Every post over `clients` parallel LMTP connections, as bench/mail.py sends Quorum's replies."""
    return send_burst(port, posts, clients, timeout, protocol=smtplib.LMTP)


def process_tree(pid: int) -> list[int]:
    from app.processes import descendants

    return [pid] + descendants(pid)


def settled_memory(pid: int, timeout: float, quiet: float = 3.0) -> dict:
    """RSS and PSS of the master and all its runners once their count and RSS stop changing for `quiet` s."""
    wait_until_steady(lambda: process_tree(pid), timeout, quiet)
    pids = process_tree(pid)
    detail = [{"pid": p, "mb": round(rss_kb(p) / 1024, 1), "pss_mb": round(pss_kb(p) / 1024, 1),
               "cmd": process_name(p)} for p in pids]
    return {"available": True, "total_mb": sum(d["mb"] for d in detail), "total_pss_mb": sum(d["pss_mb"] for d in detail),
            "processes": len(detail), "detail": detail}


class Site:
    """A scratch Mailman site: config, list, and `master` with its runners in one process group."""

    def __init__(self, bin_dir: Path, var_dir: Path, sink_port: int):
        self.bin_dir, self.var_dir = bin_dir, var_dir
        self.lmtp_port, self.rest_port = free_port(), free_port()
        self.config = write_config(var_dir, self.lmtp_port, sink_port, self.rest_port)
        self.master: subprocess.Popen | None = None

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env["MAILMAN_CONFIG_FILE"] = str(self.config)
        return env

    def seed(self, mode: str) -> dict:
        done = subprocess.run([str(self.bin_dir / "python"), "-I", str(SEED), str(self.config), LIST, str(GROUP_SIZE), mode],
                              capture_output=True, text=True, timeout=180, env=self.env(), cwd=str(self.var_dir))
        if done.returncode != 0:
            raise PeerUnavailable(f"creating the list failed: {done.stderr.strip()[-400:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def start(self) -> None:
        log = open(self.var_dir / "master.out", "ab")
        self.master = subprocess.Popen([str(self.bin_dir / "master"), "-C", str(self.config), "--force"],
                                       cwd=str(self.var_dir), env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        log.close()
        if not wait_for_port(self.lmtp_port, 90, self.master):
            raise PeerUnavailable("Mailman's LMTP runner did not listen within 90 s: " + self.log_tail())

    def log_tail(self, lines: int = 6) -> str:
        text = ""
        for name in ("master.out", "logs/mailman.log", "logs/error.log"):
            try:
                text += " | ".join((self.var_dir / name).read_text(errors="replace").splitlines()[-lines:])
            except OSError:
                pass
        return text[-800:]

    def stop(self) -> None:
        if self.master is None or self.master.poll() is not None:
            return
        try:
            os.killpg(self.master.pid, signal.SIGTERM)
            self.master.wait(timeout=20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.master.pid, signal.SIGKILL)
            self.master.wait(timeout=5)


def delivery_run(site: Site, sink: CountingSink, members: list[str], posts: int, clients: int, tag: str,
                 timeout: float) -> dict:
    """posts to the list; posts/s and copies/s from the first send until every member's copy is at the sink."""
    expected = posts * len(members)  # Mailman sends the poster a copy too (receive_own_postings)
    sink.count = 0
    sink.connections.clear()
    sent = send_lmtp(site.lmtp_port, build_posts(posts, members, tag), clients, timeout)
    deadline = time.monotonic() + timeout
    while sink.count < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    seconds = time.monotonic() - sent["started"]
    sent.pop("started")
    copies = sink.count
    out = {"posts": posts, "accepted": sent["accepted"], "copies": copies, "expected_copies": expected,
           "seconds": round(seconds, 2), "posts_per_second": copies / len(members) / seconds if seconds else 0.0,
           "copies_per_second": copies / seconds if seconds else 0.0, "relay_connections": len(sink.connections),
           "complete": copies >= expected, "lmtp": sent}
    if not out["complete"]:
        out["why_incomplete"] = f"{copies} of {expected} copies reached the sink within {timeout:.0f} s: {site.log_tail(3)}"
    return out


def measure(root: Path, run_dir: Path, args, say=print) -> dict:
    """Install (or reuse) Mailman, start a scratch site, and take its figures; 'available': False with why."""
    from aiosmtpd.controller import Controller

    try:
        bin_dir = ensure_venv(root, "mailman", PINS, say=say)
    except PeerUnavailable as error:
        return {"available": False, "why": str(error)}
    sink = CountingSink()
    sink_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink_port)
    controller.start()
    site = Site(bin_dir, run_dir / "mailman", sink_port)
    timeout = 120 if args.quick else 900
    try:
        seeded = site.seed("individual")
        site.start()
        out = {"available": True, "version": PINS[0].split("==")[1], "list_members": len(seeded["members"]),
               "clients": args.mail_clients}
        out["memory"] = settled_memory(site.master.pid, timeout=60 if args.quick else 120)
        say(f"Mailman idle: {out['memory']['total_mb']:.0f} MB RSS ({out['memory']['total_pss_mb']:.0f} MB PSS), "
            f"{out['memory']['processes']} processes")
        out["personalized"] = delivery_run(site, sink, seeded["members"], args.delivery, args.mail_clients, "ind",
                                           timeout)
        site.seed("none")  # the runners read the list from the database per message
        out["bulk"] = delivery_run(site, sink, seeded["members"], args.delivery, args.mail_clients, "bulk", timeout)
        for mode in ("personalized", "bulk"):
            d = out[mode]
            say(f"Mailman {mode}: {d['posts']} posts, {d['copies']}/{d['expected_copies']} copies in {d['seconds']:.1f} s"
                f" = {d['posts_per_second']:.2f} posts/s = {d['copies_per_second']:.0f} copies/s")
        # Inbound: the same number of posts as Quorum's inbound burst, timed to LMTP's 250 (the queue file
        # written); delivery of that burst is not waited for.
        burst = send_lmtp(site.lmtp_port, build_posts(args.mail, seeded["members"], "in"), args.mail_clients, timeout)
        burst.pop("started")
        out["lmtp_inbound"] = burst
        say(f"Mailman LMTP inbound: {burst['accepted']}/{burst['sent']} accepted at {burst['accepted_per_second']:.1f}/s")
        return out
    except PeerUnavailable as error:
        return {"available": False, "why": str(error)}
    finally:
        site.stop()
        controller.stop()
