"""Hosts made of Linux network namespaces (iproute2): a private network 10.222.N.0/24 on a bridge
inside the database host's namespace, each host with its own address, and a veth into the test's
own namespace (.254), where the outside world is: the member's browser, the relay, the sender.

Processes run in a host with `ip netns exec`; a host is "killed" by killing every process in it.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


class NoNamespaces(RuntimeError):
    """Network namespaces cannot be made here (not root, no iproute2, or a container forbids it)."""


def _ip(*args: str, ns: str | None = None) -> None:
    argv = (["ip", "netns", "exec", ns, "ip"] if ns else ["ip"]) + list(args)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    if done.returncode != 0:
        raise NoNamespaces(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")


@dataclass
class Host:
    name: str
    ns: str
    address: str
    processes: dict = field(default_factory=dict)

    def run(self, label: str, argv: list[str], *, env: dict, log: Path, cwd: Path) -> subprocess.Popen:
        handle = open(log, "ab")
        process = subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], env=env, cwd=str(cwd), stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        handle.close()
        self.processes[label] = process
        return process

    def kill(self) -> None:
        """Every process of this host, at once (as a power cut would)."""
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()

    def stop(self) -> None:
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()


class Network:
    """The namespaces and links; `close()` removes every one of them."""

    def __init__(self, names: list[str]):
        if os.geteuid() != 0:
            raise NoNamespaces("network namespaces need root (CI runs as root)")
        if not shutil.which("ip"):
            raise NoNamespaces("iproute2's `ip` is not installed (apt-get install iproute2)")
        tag = os.urandom(2).hex()
        self.subnet = f"10.222.{int(tag, 16) % 250 + 1}"
        self.tag = tag
        self.hosts: dict[str, Host] = {}
        self.outside = f"{self.subnet}.254"
        self._links: list[str] = []
        self._made: list[str] = []
        try:
            for index, name in enumerate(names):
                ns = f"q{tag}-{name}"
                _ip("netns", "add", ns)
                self._made.append(ns)
                _ip("link", "set", "lo", "up", ns=ns)
                self.hosts[name] = Host(name, ns, f"{self.subnet}.{index + 1}")
            switch = self.hosts[names[0]].ns  # the first host (the database host) holds the bridge
            _ip("link", "add", "br0", "type", "bridge", ns=switch)
            _ip("addr", "add", f"{self.hosts[names[0]].address}/24", "dev", "br0", ns=switch)
            _ip("link", "set", "br0", "up", ns=switch)
            for index, name in enumerate(names[1:] + ["outside"], 1):
                near, far = f"q{tag}{index}s", f"q{tag}{index}h"
                _ip("link", "add", near, "type", "veth", "peer", "name", far)
                self._links.append(far)
                _ip("link", "set", near, "netns", switch)
                _ip("link", "set", near, "master", "br0", ns=switch)
                _ip("link", "set", near, "up", ns=switch)
                if name == "outside":
                    _ip("addr", "add", f"{self.outside}/24", "dev", far)
                    _ip("link", "set", far, "up")
                else:
                    host = self.hosts[name]
                    _ip("link", "set", far, "netns", host.ns)
                    _ip("addr", "add", f"{host.address}/24", "dev", far, ns=host.ns)
                    _ip("link", "set", far, "up", ns=host.ns)
        except NoNamespaces:
            self.close()
            raise

    def close(self) -> None:
        for host in self.hosts.values():
            host.kill()
        for link in self._links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)
        for ns in self._made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self._made.clear()
