"""What the scale tests share: a PostgreSQL database of their own, and moto's S3 server on loopback."""
from __future__ import annotations

import logging
import os
import re
import secrets
import socket

import pytest

# The PostgreSQL server the tests may create databases in (DATABASE_URL's, or the local one).
ADMIN_URL = re.sub(r"/[^/]*$", "/postgres", re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://",
                   os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_postgres(prefix: str):
    """A new, empty PostgreSQL database (its URL), dropped by the caller with drop_postgres."""
    psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[postgres]')")
    if not ADMIN_URL.startswith("postgresql://"):
        pytest.skip("DATABASE_URL is not PostgreSQL and none is set: no PostgreSQL server to copy into")
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL server at {ADMIN_URL.split('@')[-1]} to copy into ({error})".strip())
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class MotoS3:
    """moto's S3 server on loopback: a real S3 API (what the backup tests use too)."""

    def __init__(self, host: str = "127.0.0.1"):
        moto_server = pytest.importorskip(
            "moto.server", reason="moto[server] is not installed (pip install -e '.[test]'): S3 tests need it")
        pytest.importorskip("boto3", reason="boto3 is not installed (pip install -e '.[test]')")
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server = moto_server.ThreadedMotoServer(ip_address=host, port=free_port(), verbose=False)

    def __enter__(self) -> "MotoS3":
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="eu-west-1",
                            aws_access_key_id="quorum-test", aws_secret_access_key="quorum-test-secret")

    def bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))


S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "quorum-test", "AWS_SECRET_ACCESS_KEY": "quorum-test-secret",
                  "AWS_DEFAULT_REGION": "eu-west-1"}
