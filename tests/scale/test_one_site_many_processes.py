"""What lets any number of hosts be one site: periodic jobs enqueued once however many schedulers
run, and secrets read from files every host mounts (the same keys, nothing generated per host)."""
from __future__ import annotations

import base64
import secrets
from pathlib import Path

from rq import Queue

from app import storage


def test_two_schedulers_enqueue_each_periodic_job_once_per_interval(clean_app):
    from app.queue import redis_client
    from app.schedule import PERIODIC_JOBS, build_scheduler

    first, second = build_scheduler(clean_app), build_scheduler(clean_app)
    try:
        first.enqueue_jobs()
        second.enqueue_jobs()
        queue = Queue("default", connection=redis_client(clean_app))
        names = [job.func_name for job in queue.jobs]
        assert sorted(names) == sorted(f"{f.__module__}.{f.__name__}" for f, _ in PERIODIC_JOBS)
        # The next round, still inside every interval: neither enqueues anything again.
        assert first.enqueue_jobs() == [] and second.enqueue_jobs() == []
        assert len(queue.jobs) == len(PERIODIC_JOBS)
    finally:
        first.promoter.release_locks()
        second.promoter.release_locks()


def test_a_second_scheduler_takes_over_when_the_first_is_gone(clean_app):
    from app import schedule
    from app.queue import redis_client

    connection = redis_client(clean_app)
    first, second = schedule.build_scheduler(clean_app), schedule.build_scheduler(clean_app)
    queue = Queue("default", connection=connection)
    try:
        assert first.lead() and not second.lead()
        assert first.lead()  # the leader renews its own lease
        first.enqueue_jobs()
        assert second.enqueue_jobs() == [] and len(queue.jobs) == len(schedule.PERIODIC_JOBS)
        connection.delete(schedule.LEADER_KEY)  # the lease ran out: its leader was killed
        assert second.lead() and not first.lead()
        # The new leader runs every job at once (each is idempotent), then keeps the intervals.
        assert len(second.enqueue_jobs()) == len(schedule.PERIODIC_JOBS) and second.enqueue_jobs() == []
        # A leader that stops cleanly hands the lease on at once.
        connection.eval(schedule._RESIGN, 1, schedule.LEADER_KEY, second.leader_id)
        assert first.lead()
        lease = connection.pttl(schedule.LEADER_KEY)
        assert 0 < lease <= schedule.LEADER_LEASE_MS
    finally:
        first.promoter.release_locks()
        second.promoter.release_locks()


def test_secrets_come_from_files_every_host_mounts(tmp_path, monkeypatch):
    from app import config

    secret_file, key_file = tmp_path / "secret_key", tmp_path / "data_key"
    secret_file.write_text("a-secret-every-host-shares\n")
    data_key = secrets.token_bytes(32)
    key_file.write_text(base64.b64encode(data_key).decode() + "\n")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("QUORUM_DATA_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(secret_file))
    monkeypatch.setenv("QUORUM_DATA_KEY_FILE", str(key_file))
    hosts = [config.load({"QUORUM_INSTANCE": str(tmp_path / name)}) for name in ("web1", "web2")]
    assert [h["SECRET_KEY"] for h in hosts] == ["a-secret-every-host-shares"] * 2

    class App:  # the two settings data_keys reads, on each host
        def __init__(self, cfg):
            self.config, self.extensions = cfg, {}

    assert [storage.data_keys(App(h)) for h in hosts] == [[data_key], [data_key]]
    for name in ("web1", "web2"):  # nothing was generated into either host's instance folder
        assert not (tmp_path / name / "secret_key").exists() and not (tmp_path / name / "data.key").exists()
