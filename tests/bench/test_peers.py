"""The parts of `python -m bench --peers` that need no peer installed: config, posts, LMTP client, stamps, report."""
from __future__ import annotations

import configparser
import email
import json
import threading

import pytest

from bench import report
from bench.peers import flaskbb_peer, mailman_peer, scratch
from bench.stack import REPO, free_port


def test_mailman_config_keeps_every_socket_on_loopback_and_every_file_in_the_var_dir(tmp_path):
    path = mailman_peer.write_config(tmp_path / "var", lmtp_port=4001, smtp_port=4002, rest_port=4003)
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(path)
    assert cfg["mailman"]["layout"] == "bench" and cfg["paths.bench"]["var_dir"] == str(tmp_path / "var")
    assert cfg["mta"]["incoming"] == "mailman.mta.null.NullMTA"  # no MTA maps written or reloaded
    assert (cfg["mta"]["lmtp_host"], cfg["mta"]["lmtp_port"]) == ("127.0.0.1", "4001")
    assert (cfg["mta"]["smtp_host"], cfg["mta"]["smtp_port"]) == ("127.0.0.1", "4002")
    assert (cfg["webservice"]["hostname"], cfg["webservice"]["port"]) == ("127.0.0.1", "4003")
    assert cfg["database"]["url"] == "sqlite:///$DATA_DIR/mailman.db"


def test_posts_come_from_the_members_in_turn_to_the_list_with_their_own_message_ids():
    members = [f"m{i}@bench.example" for i in range(3)]
    posts = mailman_peer.build_posts(7, members, "t")
    assert [p[0] for p in posts[:4]] == members + members[:1]
    parsed = [email.message_from_bytes(p[2]) for p in posts]
    assert all(p[1] == mailman_peer.LIST and m["To"] == mailman_peer.LIST for p, m in zip(posts, parsed))
    assert len({m["Message-ID"] for m in parsed}) == 7 and parsed[0]["Subject"]


def test_lmtp_burst_is_counted_by_a_real_lmtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.lmtp import LMTP

    received, lock = [], threading.Lock()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with lock:
                received.extend(envelope.rcpt_tos)
            return "250 OK"

    class LMTPController(Controller):
        def factory(self):
            return LMTP(self.handler)

    port = free_port()
    controller = LMTPController(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        posts = mailman_peer.build_posts(12, ["a@bench.example", "b@bench.example"], "x")
        result = mailman_peer.send_lmtp(port, posts, clients=3, timeout=30)
    finally:
        controller.stop()
    assert result["accepted"] == 12 and result["failures"] == 0 and result["accepted_per_second"] > 0
    assert received == [mailman_peer.LIST] * 12


def test_peers_dir_is_never_inside_the_repository(tmp_path):
    with pytest.raises(SystemExit):
        scratch.peers_dir(str(REPO / "bench" / "peers-cache"))
    assert scratch.peers_dir(str(tmp_path / "peers")) == tmp_path / "peers"


def test_a_venv_whose_stamp_names_the_same_pins_is_reused_without_pip(tmp_path):
    venv = tmp_path / "mailman"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")  # not runnable: reaching pip would fail the test
    (venv / "quorum-bench-stamp.json").write_text(json.dumps(scratch.stamp(["mailman==3.3.10"])))
    said = []
    assert scratch.ensure_venv(tmp_path, "mailman", ["mailman==3.3.10"], say=said.append) == venv / "bin"
    assert said == []
    # Another pin: the venv is made anew and pip's failure is reported (a missing local path: no index asked).
    with pytest.raises(scratch.PeerUnavailable, match="Invalid requirement"):
        scratch.ensure_venv(tmp_path, "mailman", [str(tmp_path / "no-such-package")], say=said.append)
    assert said and not (venv / "quorum-bench-stamp.json").exists()


def test_flaskbb_config_keeps_its_files_in_the_run_folder_and_mail_on_loopback(tmp_path):
    path = flaskbb_peer.write_config(tmp_path / "fb", mail_port=4100)
    settings: dict = {}
    exec(path.read_text(), settings)  # FlaskBB reads its config as Python
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'fb' / 'flaskbb.sqlite'}"
    assert settings["WHOOSHEE_DIR"].startswith(str(tmp_path / "fb"))
    assert (settings["MAIL_SERVER"], settings["MAIL_PORT"]) == ("127.0.0.1", 4100)
    assert settings["DEBUG"] is False and settings["WTF_CSRF_ENABLED"] is True and settings["REDIS_ENABLED"] is False
    assert "create_app" in (tmp_path / "fb" / "flaskbb_wsgi.py").read_text()


def test_flaskbb_runs_under_the_gunicorn_settings_quorums_web_runs_with(tmp_path):
    from app.config import DEFAULT_WEB_WORKERS
    from app.supervisor import gunicorn_args

    argv = flaskbb_peer.gunicorn_argv(tmp_path / "bin", tmp_path, 4200, workers=DEFAULT_WEB_WORKERS)
    ours = gunicorn_args({"WEB_LISTEN": "127.0.0.1:4200", "WEB_WORKERS": DEFAULT_WEB_WORKERS})
    assert argv[:5] == [str(tmp_path / "bin" / "python"), "-m", "gunicorn", "--pythonpath", str(tmp_path)]
    assert argv[-1] == "flaskbb_wsgi:app" and "app.weblog.RedactingLogger" not in argv
    # every other setting as Quorum's: workers, worker class, timeouts, preload
    i = ours.index("--logger-class")
    assert argv[5:-1] == ours[:i] + ours[i + 2:-1]
    assert flaskbb_peer.quorum_gunicorn().startswith("gunicorn==")


def test_session_cookie_is_read_from_set_cookie_headers_joined_by_the_client():
    joined = "remember_token=x; Expires=Mon, 07 Dec 2026 10:00:00 GMT; Path=/, session=abc.def-1; HttpOnly; Path=/"
    assert flaskbb_peer.session_cookie(joined) == "session=abc.def-1"
    assert flaskbb_peer.session_cookie("other=1; Path=/") == ""


def test_page_weight_counts_only_loopback_files_and_lists_other_hosts(tmp_path):
    import http.server

    page = (b'<html><link rel="stylesheet" href="/s.css"><link rel="stylesheet" href="https://cdn.example/x.css">'
            b'<script src="//cdn.example/y.js"></script></html>')

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page if self.path == "/t" else b"a{}" if self.path == "/s.css" else b"missing"
            self.send_response(200 if self.path in ("/t", "/s.css") else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        from bench import web

        result = web.page_weight(server.server_address[1], "/t", "session=x")
    finally:
        server.shutdown()
        server.server_close()
    assert [i["url"] for i in result["first_visit"]] == ["/t", "/s.css"]
    assert [i["status"] for i in result["first_visit"]] == [200, 200]
    assert result["off_site_not_counted"] == ["https://cdn.example/x.css", "//cdn.example/y.js"]


def load(rps, p95):
    return {"requests": int(rps * 4), "rps": rps, "p95_ms": p95, "p50_ms": p95 / 2, "p99_ms": p95, "errors": 0}


def quorum_results(peers: dict) -> dict:
    return {
        "machine": {"date": "2026-12-06 21:00 UTC", "cores": 2, "cpu_model": "x", "python": "3.11",
                    "load_average_at_start": [0, 0, 0]},
        "backends": {"sqlite": {
            "pages": {"by_concurrency": {"10": {"baseline": load(800, 14), "thread_50": load(150, 90),
                                                "thread_200": load(80, 160)}}},
            "weight": {"available": True, "first_visit_bytes": 20 * 1024, "repeat_visit_bytes": 2048},
            "delivery": {"available": True, "complete": True, "copies_per_second": 300.0, "replies_per_second": 7.7,
                         "baseline": {"copies_per_second": 1500.0}},
            "mail": {"available": True, "ratio": 0.3, "quorum": {"per_second": 40.0, "accepted_per_second": 90.0,
                                                                 "complete": True},
                     "baseline": {"accepted_per_second": 400.0}},
            "memory": {"available": True, "total_mb": 200.0, "total_pss_mb": 120.0, "parts": {"web": {"mb": 100.0,
                                                                                                      "pss_mb": 60.0}}},
        }},
        "peers": peers,
    }


MAILMAN = {"available": True,
           "personalized": {"posts_per_second": 1.8, "copies_per_second": 75.0, "complete": True},
           "bulk": {"posts_per_second": 15.0, "copies_per_second": 600.0, "complete": True},
           "lmtp_inbound": {"accepted_per_second": 60.0},
           "memory": {"total_mb": 1200.0, "total_pss_mb": 850.0, "processes": 15}}


def test_report_puts_each_quorum_figure_beside_the_peers_and_the_baseline():
    results = quorum_results({"dir": "/tmp/p", "mailman": MAILMAN,
                              "flaskbb": {"available": False, "why": "FlaskBB 2.2.0 requires Python >=3.12"}})
    assert report.peer_rows(results)[0]["peer_name"] == "FlaskBB"
    rows = {r["figure"]: r for r in report.peer_rows(results)}
    personal = rows["delivery copies/s vs Mailman 3 personalised (one copy per member)"]
    assert personal["ratio"] == 4.0 and "75 copies/s" in personal["peer"] and "1500" in personal["baseline"]
    assert rows["delivery copies/s vs Mailman 3 bulk (default)"]["ratio"] == 0.5
    assert rows["inbound replies/s vs Mailman 3 LMTP accepted/s"]["ratio"] == 1.5
    assert rows["idle memory, whole stack vs Mailman 3 (all runners)"]["ratio"] == pytest.approx(0.17)
    assert rows["idle memory, whole stack vs Mailman 3 (all runners)"]["peer_name"] == "Mailman 3"
    thread = rows["thread 50 comments, 10 clients vs FlaskBB topic 50 posts"]
    assert thread["peer"] == "peer not available: FlaskBB 2.2.0 requires Python >=3.12" and thread["ratio"] is None
    assert thread["quorum"] == "150.0 req/s, p95 90 ms" and thread["baseline"] == "800.0 req/s, p95 14 ms"

    results["peers"]["comparison"] = report.peer_rows(results)
    results["targets"] = report.evaluate(results)
    target = [t for t in results["targets"] if t["target"].startswith("delivery vs Mailman")]
    assert [(t["value"], t["result"]) for t in target] == [("4.00×", "pass")]
    text = report.table({k: v for k, v in results.items() if k != "backends"})  # the peers' part of the table
    assert "peer not available: FlaskBB 2.2.0" in text and "4.00×" in text


def test_flaskbb_figures_sit_beside_quorums():
    flaskbb = {"available": True, "topic_50": load(6, 1400), "topic_200": load(1.5, 2700),
               "weight": {"available": True, "first_visit_bytes": 900 * 1024, "off_site_not_counted": ["//cdn/x.js"]},
               "memory": {"total_mb": 250.0, "total_pss_mb": 150.0, "processes": 3}}
    rows = {r["figure"]: r for r in report.peer_rows(quorum_results({"flaskbb": flaskbb}))}
    assert rows["thread 50 comments, 10 clients vs FlaskBB topic 50 posts"]["ratio"] == 25.0
    assert rows["thread 200 comments, 10 clients vs FlaskBB topic 200 posts"]["peer"] == "1.5 req/s, p95 2700 ms"
    weight = rows["first visit, thread of 50 comments vs FlaskBB topic of 50 posts"]
    assert weight["peer"] == "900 KB" and weight["ratio"] == pytest.approx(0.02) and "1 files on other hosts" in weight["note"]
    assert rows["idle memory, web alone vs FlaskBB web"]["ratio"] == 0.4
    assert rows["delivery copies/s vs Mailman 3 bulk (default)"]["peer"] == "peer not measured"
    flaskbb["topic_200"] = {**load(0, 0), "requests": 0}
    rows = {r["figure"]: r for r in report.peer_rows(quorum_results({"flaskbb": flaskbb}))}
    assert rows["thread 200 comments, 10 clients vs FlaskBB topic 200 posts"]["peer"].startswith("0 req/s: no request")


def test_a_slow_delivery_fails_the_two_times_mailman_target():
    results = quorum_results({"mailman": {**MAILMAN, "personalized": {**MAILMAN["personalized"],
                                                                      "copies_per_second": 200.0}}})
    target = [t for t in report.evaluate(results) if t["target"].startswith("delivery vs Mailman")]
    assert [(t["value"], t["result"]) for t in target] == [("1.50×", "FAIL")]
    assert not [t for t in report.evaluate(quorum_results({})) if t["target"].startswith("delivery vs Mailman")]
