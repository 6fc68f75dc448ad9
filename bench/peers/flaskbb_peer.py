"""FlaskBB beside Quorum's thread pages, page weight and web memory.

FlaskBB 2.2.0 (what the review measured) declares Requires-Python >= 3.12. On an older Python the bench
measures FlaskBB 2.0.2, the last release for it, whose package pins exact 2018 versions that do not
install on 3.11 (MarkupSafe 1.0's build fails): it is installed without its pins, beside the newest
libraries of its era that import (FALLBACK below, found by trying), and without the two plugins it
installs by default (portal, conversations), whose entry points re-check those pins. A sitecustomize.py
in its venv puts back the collections.Mapping-style aliases Python 3.10 removed, which FlaskBB 2.0.2
itself uses.

The site: `flaskbb install` on SQLite with a config written here, members and one topic of 50 and one of
200 posts (flaskbb_seed.py, run by FlaskBB's venv), each topic on one page; gunicorn with the settings
Quorum's web runs with (app.supervisor.gunicorn_args); members signed in through the login form.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.parse
from pathlib import Path

from .. import web
from ..stack import free_port, wait_for_http
from .mailman_peer import settled_memory
from .scratch import PeerUnavailable, ensure_venv

def quorum_gunicorn() -> str:
    """The gunicorn Quorum's web runs here, pinned in the peer's venv too: the same server and settings."""
    from importlib.metadata import version

    return f"gunicorn=={version('gunicorn')}"


CURRENT = ["flaskbb==2.2.0"]
FALLBACK = [
    "flaskbb==2.0.2", "Flask==1.1.4", "Werkzeug==0.16.1", "Jinja2==2.11.3", "MarkupSafe==2.0.1",
    "itsdangerous==1.1.0", "click==7.1.2", "SQLAlchemy==1.3.24", "Flask-SQLAlchemy==2.5.1", "alembic==1.4.3",
    "Flask-Alembic==2.0.1", "flask-allows==0.7.1", "Flask-BabelPlus==2.2.0", "Babel==2.9.1",
    "Flask-Caching==1.10.1", "Flask-DebugToolbar==0.11.0", "Flask-Limiter==1.4", "limits==1.5.1",
    "Flask-Login==0.5.0", "Flask-Mail==0.9.1", "Flask-Redis==0.4.0", "redis==3.5.3", "Flask-Themes2==0.1.5",
    "flask-whooshee==0.7.0", "Whoosh==2.7.4", "Flask-WTF==0.14.3", "WTForms==2.2.1", "celery==5.0.5",
    "kombu==5.0.2", "vine==5.0.0", "amqp==5.0.9", "billiard==3.6.4.0", "click-didyoumean==0.0.3",
    "click-repl==0.1.6", "click-plugins==1.1.1", "prompt-toolkit==3.0.36", "wcwidth==0.2.5", "pluggy==0.6.0",
    "mistune==0.8.4", "Pygments==2.7.4", "SQLAlchemy-Utils==0.36.8", "Unidecode==1.1.2", "requests==2.25.1",
    "certifi==2021.10.8", "chardet==4.0.0", "idna==2.10", "urllib3==1.26.18", "python-dateutil==2.8.1",
    "simplejson==3.17.2", "speaklater==1.3", "pytz==2021.1", "attrs==20.3.0", "six==1.15.0", "Pillow==10.2.0",
    "Mako==1.1.4", "python-editor==1.0.4", "blinker==1.4", "click-log==0.3.2", "olefile==0.46",
    "packaging==23.2",
]
SHIM = '''"""Written by Quorum's bench: the aliases Python 3.10 removed from collections, which FlaskBB 2.0.2 uses."""
import collections
import collections.abc

for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Set", "MutableSet", "Iterable",
              "Iterator", "Callable", "Container", "Hashable", "Sized"):
    setattr(collections, _name, getattr(collections.abc, _name))
'''
SEED = Path(__file__).with_name("flaskbb_seed.py")
USERS = 10  # one signed-in member per client
PASSWORD = "bench-peer-password"
CLIENTS = 10
MIN_DURATION, MIN_WARMUP = 10.0, 2.0  # seconds: several page times even on a loaded machine


def install(root: Path, say=print) -> tuple[Path, str]:
    """(bin dir, version) of FlaskBB's venv: 2.2.0 where the Python allows it, else 2.0.2 as described above."""
    if sys.version_info >= (3, 12):
        return ensure_venv(root, "flaskbb", [*CURRENT, quorum_gunicorn()], say=say), "2.2.0"
    return ensure_venv(root, "flaskbb", [*FALLBACK, quorum_gunicorn()], no_deps=True,
                       site_files={"sitecustomize.py": SHIM}, say=say), "2.0.2"


def write_config(run_dir: Path, mail_port: int) -> Path:
    """FlaskBB's config (a Python file): SQLite, search index and logs in run_dir, no debug toolbar, mail
    to a closed loopback port, Celery eager in-process (no broker)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "flaskbb.cfg"
    path.write_text(f'''\
DEBUG = False
TESTING = False
PREFERRED_URL_SCHEME = "http"
USE_DEFAULT_LOGGING = False
SQLALCHEMY_DATABASE_URI = "sqlite:///{run_dir / 'flaskbb.sqlite'}"
SQLALCHEMY_TRACK_MODIFICATIONS = False
SECRET_KEY = "bench-flaskbb-secret-not-for-production"
WTF_CSRF_ENABLED = True
WTF_CSRF_SECRET_KEY = "bench-flaskbb-csrf-not-for-production"
WHOOSHEE_DIR = "{run_dir / 'whoosh'}"
CACHE_TYPE = "simple"
DEBUG_TB_ENABLED = False
MAIL_SERVER = "127.0.0.1"
MAIL_PORT = {mail_port}
REDIS_ENABLED = False
CELERY_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
''')
    (run_dir / "flaskbb_wsgi.py").write_text(
        'import os\n\nfrom flaskbb import create_app\n\napp = create_app(os.environ["FLASKBB_CONFIG"])\n')
    return path


def gunicorn_argv(bin_dir: Path, run_dir: Path, port: int, workers: int) -> list[str]:
    """Quorum's gunicorn settings (app.supervisor.gunicorn_args) and worker count (the bench's
    --web-workers) for FlaskBB's WSGI app; only Quorum's own redacting access-log class is left out (it
    is not importable there: gunicorn's default logs the same lines)."""
    from app.supervisor import gunicorn_args

    args = gunicorn_args({"WEB_LISTEN": f"127.0.0.1:{port}", "WEB_WORKERS": workers})
    if "--logger-class" in args:
        i = args.index("--logger-class")
        del args[i:i + 2]
    args = ["flaskbb_wsgi:app" if a == "wsgi:app" else a for a in args]
    return [str(bin_dir / "python"), "-m", "gunicorn", "--pythonpath", str(run_dir), *args]


def session_cookie(set_cookie: str) -> str:
    found = re.search(r"(?:^|[\s,])session=([^;,\s]+)", set_cookie)
    return f"session={found.group(1)}" if found else ""


def log_in(port: int, username: str, password: str) -> str:
    """Sign in through FlaskBB's login form as a browser without JavaScript would; the session cookie."""
    page = web.request(port, "GET", "/auth/login")
    cookie = session_cookie(page.header("set-cookie"))
    forms = [(web.attrs("<form " + a + ">"), body) for a, body in web.FORM_RE.findall(web.decoded(page))]
    for form, body in forms:
        fields = {}
        for _, tag in web.INPUT_RE.findall(body):
            a = web.attrs(tag)
            if a.get("name") and a.get("type", "text") not in ("checkbox", "submit"):
                fields[a["name"]] = a.get("value", "")
        if "login" in fields and "password" in fields:
            fields.update(login=username, password=password)
            action = form.get("action") or "/auth/login"
            answer = web.request(port, "POST", urllib.parse.urlsplit(action).path or "/auth/login",
                                 {"Cookie": cookie}, urllib.parse.urlencode(fields))
            signed_in = session_cookie(answer.header("set-cookie"))
            if answer.status in (302, 303) and signed_in:
                return signed_in
            raise PeerUnavailable(f"FlaskBB's login answered {answer.status} for {username}")
    raise PeerUnavailable("FlaskBB's login page has no login form")


def run(argv: list[str], run_dir: Path, env: dict, timeout: float, what: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=str(run_dir))
    if done.returncode != 0:
        raise PeerUnavailable(f"{what} failed: {(done.stderr or done.stdout).strip()[-400:]}")
    return done.stdout


def measure(root: Path, run_dir: Path, args, say=print) -> dict:
    try:
        bin_dir, version = install(root, say=say)
    except PeerUnavailable as error:
        return {"available": False, "why": str(error)}
    config = write_config(run_dir, mail_port=free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "FLASK"))}
    env.update(FLASKBB_CONFIG=str(config), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")  # install runs pybabel
    server = None
    try:
        run([str(bin_dir / "flaskbb"), "--config", str(config), "install", "--force", "--username", "admin",
             "--email", "admin@bench.example", "--password", PASSWORD], run_dir, env, 600, "flaskbb install")
        seeded = json.loads(run([str(bin_dir / "python"), "-I", str(SEED), str(config), str(USERS), PASSWORD],
                                run_dir, env, 600, "seeding FlaskBB").strip().splitlines()[-1])
        port = free_port()
        log = open(run_dir / "web.log", "ab")
        server = subprocess.Popen(gunicorn_argv(bin_dir, run_dir, port, args.web_workers), cwd=str(run_dir), env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        if not wait_for_http(f"http://127.0.0.1:{port}/", 90, server, statuses=(200,)):
            raise PeerUnavailable("FlaskBB's gunicorn did not answer / within 90 s: "
                                  + (run_dir / "web.log").read_text(errors="replace")[-400:])
        cookies = [log_in(port, name, PASSWORD) for name in seeded["users"]]
        paths = {size: f"/topic/{tid}" for size, tid in seeded["topics"].items()}
        for size, path in paths.items():  # signed in, and every post on the one page
            probe = web.request(port, "GET", path, {"Cookie": cookies[0]})
            text = web.decoded(probe)
            if probe.status != 200 or f"Post {int(size) - 1}:" not in text or "/auth/logout" not in text:
                raise PeerUnavailable(f"GET {path} answered {probe.status} without the whole signed-in topic")
        for _ in range(2 if args.quick else 8):  # every worker has served each page
            for path in paths.values():
                web.request(port, "GET", path, {"Cookie": cookies[0]})
        out = {"available": True, "version": version, "pins": "FlaskBB's own" if version == "2.2.0" else "bench/peers/flaskbb_peer.py FALLBACK",
               "paths": paths, "clients": CLIENTS}
        out["memory"] = settled_memory(server.pid, timeout=30 if args.quick else 60)
        say(f"FlaskBB {version} web idle: {out['memory']['total_mb']:.0f} MB RSS ({out['memory']['total_pss_mb']:.0f} MB PSS)")
        out["weight"] = web.page_weight(port, paths["50"], cookies[0])
        if out["weight"].get("available"):
            say(f"FlaskBB first visit (topic of 50 posts): {out['weight']['first_visit_bytes'] / 1024:.0f} KB")
        identities = [{"headers": {"Cookie": c}} for c in cookies]
        # A FlaskBB topic page takes one to several seconds at 10 clients here (each view also writes its
        # read marks and view count): a window of a few seconds would finish none, so it is 10 s at least.
        duration, warmup = max(args.duration, MIN_DURATION), max(args.warmup, MIN_WARMUP)
        out.update(duration=duration, warmup=warmup)
        for size, path in paths.items():
            spec = {"port": port, "path": path, "method": "GET", "ok_status": [200], "identities": identities,
                    "concurrency": CLIENTS, "duration": duration, "warmup": warmup}
            row = web.run_load(spec, timeout=duration + warmup + 90)
            out[f"topic_{size}"] = row
            say(f"FlaskBB topic {size:>3} c={CLIENTS} {row['rps']:8.1f} req/s  p50 {row['p50_ms']:6.1f}  "
                f"p95 {row['p95_ms']:6.1f} ms" + (f"  errors {row['errors']} {row['statuses']}" if row["errors"] else ""))
        return out
    except (PeerUnavailable, subprocess.TimeoutExpired) as error:
        return {"available": False, "why": str(error)}
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
