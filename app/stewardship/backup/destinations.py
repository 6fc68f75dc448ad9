"""Where backups are written: directories, and S3-compatible buckets."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path


from .common import BackupError, NAME_RE, setting


class Destination:
    """Where backups are kept. Each kind lists, puts, gets and deletes whole backup files by name;
    everything else (naming, retention, choosing the newest) is shared and works on names only."""

    def list(self) -> list[str]:
        """The names of the backups held here (only names matching NAME_RE), sorted."""
        raise NotImplementedError

    def put(self, source: Path, name: str) -> str:
        """Store `source` under `name` so it appears whole or not at all; return where it went."""
        raise NotImplementedError

    def get(self, name: str, scratch: Path) -> Path:
        """A local path holding the backup `name` (downloaded into `scratch` if need be)."""
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError


class DirectoryDestination(Destination):
    """A directory (another disk, a mounted remote): backups are written atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def list(self) -> list[str]:
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if NAME_RE.match(p.name))

    def put(self, source: Path, name: str) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / f".{name}.tmp"
        with open(source, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, self.path / name)
        return str(self.path / name)

    def get(self, name: str, scratch: Path) -> Path:
        path = self.path / name
        if not path.is_file():
            raise BackupError(f"{path} does not exist.")
        return path

    def delete(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)

    def __str__(self) -> str:
        return str(self.path)


def _boto3():
    try:
        import boto3
    except ImportError:
        raise BackupError("BACKUP_DESTINATIONS names an s3:// destination but boto3 is not installed: "
                          "install it with `pip install 'quorum[s3]'` (or `pip install boto3`) in Quorum's "
                          "virtualenv, or use only directories.") from None
    return boto3


class S3Destination(Destination):
    """A bucket (and optional prefix) on S3 or any S3-compatible service (MinIO, Backblaze B2, Wasabi,
    Scaleway, …). A PUT is atomic, so a backup is there whole or not at all. The endpoint comes from
    BACKUP_S3_ENDPOINT_URL (unset: AWS); credentials and region from AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN) and AWS_DEFAULT_REGION, or boto3's usual chain."""

    def __init__(self, url: str):
        match = re.match(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?$", url)
        if not match:
            raise BackupError(f"Backup destination {url!r} is not s3://bucket or s3://bucket/prefix "
                              "(bucket names are 3-63 lower-case letters, digits, dots and hyphens).")
        self.url = url.rstrip("/")
        self.bucket = match.group(1)
        self.prefix = (match.group(2) or "").strip("/")
        self._boto3 = _boto3()  # fail now, before a snapshot is made, if boto3 is missing
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from botocore.config import Config

            endpoint = setting("BACKUP_S3_ENDPOINT_URL")
            session = self._boto3.session.Session(
                aws_access_key_id=setting("AWS_ACCESS_KEY_ID"),
                aws_secret_access_key=setting("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=setting("AWS_SESSION_TOKEN"),
                region_name=setting("AWS_DEFAULT_REGION"))
            config = Config(retries={"max_attempts": 5, "mode": "standard"},
                            s3={"addressing_style": "path"} if endpoint else {})
            self._client = session.client("s3", endpoint_url=endpoint, config=config)
        return self._client

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _fail(self, action: str, error: Exception) -> BackupError:
        return BackupError(f"{self.url}: cannot {action}: {error}")

    def list(self) -> list[str]:
        start = f"{self.prefix}/" if self.prefix else ""
        names = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    name = item["Key"][len(start):]
                    if NAME_RE.match(name):
                        names.append(name)
        except Exception as error:  # botocore's ClientError, EndpointConnectionError, NoCredentialsError, …
            raise self._fail("list the backups", error) from None
        return sorted(names)

    def put(self, source: Path, name: str) -> str:
        try:
            self.client.upload_file(str(source), self.bucket, self._key(name),
                                    ExtraArgs={"ContentType": "application/octet-stream"})
        except Exception as error:
            raise self._fail(f"upload {name}", error) from None
        return f"{self.url}/{name}"

    def get(self, name: str, scratch: Path) -> Path:
        target = Path(scratch) / name
        try:
            self.client.download_file(self.bucket, self._key(name), str(target))
        except Exception as error:
            raise self._fail(f"download {name}", error) from None
        return target

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as error:
            raise self._fail(f"delete {name}", error) from None

    def __str__(self) -> str:
        return self.url


def destination(item: str) -> Destination:
    if item.startswith("s3://"):
        return S3Destination(item)
    if "://" in item:
        raise BackupError(f"Unsupported backup destination {item!r}: give a directory (another disk, or a "
                          "mounted remote) or s3://bucket/prefix for S3-compatible storage.")
    return DirectoryDestination(Path(item))


def destinations() -> list[Destination]:
    raw = setting("BACKUP_DESTINATIONS") or ""
    result = [destination(part.strip()) for part in raw.split(",") if part.strip()]
    if not result:
        raise BackupError("BACKUP_DESTINATIONS is empty: give at least two places, comma-separated: "
                          "directories (another disk, a mounted remote) or s3://bucket/prefix.")
    return result
