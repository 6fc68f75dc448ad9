"""Files at rest (attachments, raw inbound mail, exports), encrypted with AES-GCM, in a file store.

The data key lives outside the database: QUORUM_DATA_KEY (base64, 32 bytes), a file named by
QUORUM_DATA_KEY_FILE (the same on every host), or `instance/data.key` (created mode 600 on first
use, for one machine). Bytes are encrypted in this process before they go anywhere.

Where files go is STORAGE_URL: `file:///path` (the default is `file://<instance>/files`) or
`s3://bucket/prefix` on S3 or any S3-compatible service (S3_ENDPOINT_URL for MinIO, Garage, Ceph,
Backblaze, Wasabi; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or boto3's chain).
Every process of one site names the same store, so any web host serves what another stored.

Two formats, both bound to the file's storage key (the associated data):
- `b"QENC1" + key_id(8) + nonce(12) + ciphertext`: one AES-GCM message (small sealed values, and
  files written before streaming);
- `b"QENC2" + key_id(8) + prefix(7) + chunks`: the file in 64 KiB chunks, each its own AES-GCM
  message whose nonce is prefix + chunk number + a last-chunk flag, so a file is read and checked
  a chunk at a time (a download is never held whole in memory) and a truncated file is refused.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import os
import re
import secrets
import struct
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import unquote, urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

MAGIC = b"QENC1"
STREAM_MAGIC = b"QENC2"
CHUNK = 64 * 1024
TAG = 16
HEADER = 5 + 8 + 7
NAMESPACES = ("attachments", "inbound", "exports")


def _key_file(instance: Path) -> Path:
    return instance / "data.key"


def data_keys(app=None) -> list[bytes]:
    """The current key first, then retired keys still able to decrypt (during rotation)."""
    app = app or current_app
    cached = app.extensions.get("quorum_data_keys")
    if cached:
        return cached
    keys: list[bytes] = []
    configured = app.config.get("DATA_KEY")
    key_path = app.config.get("DATA_KEY_FILE")
    if not configured and key_path:
        # A file every host has (a mounted secret): the same keys everywhere, nothing generated.
        configured = Path(key_path).read_text()
    if configured:
        # "current[,retired…]": during a rotation both keys are listed (see SECURITY.md).
        keys.extend(base64.b64decode(k) for k in configured.replace(",", " ").split())
    else:
        path = _key_file(Path(app.config["QUORUM_INSTANCE"]))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        for line in path.read_text().split():
            keys.append(base64.b64decode(line))
    if not keys or any(len(k) != 32 for k in keys):
        raise RuntimeError("the data key must be 32 bytes, base64-encoded")
    app.extensions["quorum_data_keys"] = keys
    return keys


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"quorum-key-id" + key).digest()[:8]


def encrypt(data: bytes, *, associated: bytes = b"") -> bytes:
    key = data_keys()[0]
    nonce = secrets.token_bytes(12)
    return MAGIC + key_id(key) + nonce + AESGCM(key).encrypt(nonce, data, associated or None)


def _key_for(kid: bytes) -> bytes:
    for key in data_keys():
        if key_id(key) == kid:
            return key
    raise ValueError("no data key matches this file (was the key rotated away?)")


def decrypt(blob: bytes, *, associated: bytes = b"") -> bytes:
    if blob.startswith(STREAM_MAGIC):
        return b"".join(decrypt_stream(_BytesReader(blob), associated=associated))
    if not blob.startswith(MAGIC):
        raise ValueError("not an encrypted Quorum file")
    kid, nonce, body = blob[5:13], blob[13:25], blob[25:]
    return AESGCM(_key_for(kid)).decrypt(nonce, body, associated or None)


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", index) + (b"\x01" if last else b"\x00")


def _rechunk(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Plaintext in CHUNK-sized pieces, each with "is it the last one" (the last may be empty)."""
    buffer = bytearray()
    pending: bytes | None = None
    for piece in chunks:
        buffer += piece
        while len(buffer) >= CHUNK:
            if pending is not None:
                yield pending, False
            pending, buffer = bytes(buffer[:CHUNK]), buffer[CHUNK:]
    if buffer:
        if pending is not None:
            yield pending, False
        pending = bytes(buffer)
    yield (pending if pending is not None else b""), True


def encrypt_stream(chunks: Iterable[bytes], *, associated: bytes) -> Iterator[bytes]:
    """The QENC2 encryption of the plaintext `chunks`, as it goes (constant memory)."""
    key = data_keys()[0]
    prefix = secrets.token_bytes(7)
    aead = AESGCM(key)
    yield STREAM_MAGIC + key_id(key) + prefix
    for index, (plain, last) in enumerate(_rechunk(chunks)):
        if index >= 2 ** 32:
            raise ValueError("file too large")
        yield aead.encrypt(_nonce(prefix, index, last), plain, associated)


def _read_exactly(handle: BinaryIO, size: int) -> bytes:
    parts, wanted = [], size
    while wanted:
        part = handle.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def decrypt_stream(handle: BinaryIO, *, associated: bytes) -> Iterator[bytes]:
    """Plaintext chunks of a QENC2 (or, whole, a QENC1) file read from `handle`; every chunk is
    authenticated before it is yielded, and a file cut short raises ValueError."""
    head = _read_exactly(handle, HEADER)
    if head.startswith(MAGIC):
        yield decrypt(head + handle.read(), associated=associated)
        return
    if not head.startswith(STREAM_MAGIC) or len(head) < HEADER:
        raise ValueError("not an encrypted Quorum file")
    aead = AESGCM(_key_for(head[5:13]))
    prefix = head[13:20]
    index = 0
    current = _read_exactly(handle, CHUNK + TAG)
    while True:
        following = _read_exactly(handle, CHUNK + TAG) if len(current) == CHUNK + TAG else b""
        last = not following
        try:
            yield aead.decrypt(_nonce(prefix, index, last), current, associated)
        except InvalidTag:
            raise ValueError("this file is damaged or cut short (it does not decrypt)") from None
        if last:
            return
        current, index = following, index + 1


class _BytesReader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        piece, self.at = self.data[self.at:end], min(end, len(self.data))
        return piece


class _IterReader:
    """A file-like reader over an iterator of bytes (what boto3's upload reads from)."""

    def __init__(self, chunks: Iterable[bytes]):
        self.chunks, self.buffer, self.total = iter(chunks), bytearray(), 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            try:
                self.buffer += next(self.chunks)
            except StopIteration:
                break
        if size < 0:
            size = len(self.buffer)
        piece = bytes(self.buffer[:size])
        del self.buffer[:size]
        self.total += len(piece)
        return piece


class NoSpace(OSError):
    """The files folder is full (or over quota): nothing was stored; try again when there is room."""


class StorageError(RuntimeError):
    """The file store could not be reached or refused a request (nothing half-written is left)."""


# --- Stores ------------------------------------------------------------------------------

class FileStore:
    """A folder: `<root>/<namespace>/<key>`, written to a temporary name and renamed."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = "file://" + str(self.root)

    def folder(self, namespace: str) -> Path:
        path = self.root / namespace
        path.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, namespace: str, key: str, chunks: Iterable[bytes], *, durable: bool) -> None:
        final = self.folder(namespace) / key
        tmp = final.with_name("." + key + ".tmp")
        try:
            with open(tmp, "wb") as handle:
                for piece in chunks:
                    handle.write(piece)
                handle.flush()
                if durable:
                    os.fsync(handle.fileno())
            os.replace(tmp, final)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                raise NoSpace(error.errno, f"no room to store a file in {final.parent}") from error
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if durable:
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def open(self, namespace: str, key: str) -> BinaryIO:
        return open(self.root / namespace / key, "rb")

    def delete(self, namespace: str, key: str) -> None:
        (self.root / namespace / key).unlink(missing_ok=True)

    def keys(self) -> list[tuple[str, str]]:
        if not self.root.is_dir():
            return []
        return [(p.parent.name, p.name) for p in sorted(self.root.glob("*/*"))
                if p.is_file() and not p.name.startswith(".")]

    def __str__(self) -> str:
        return self.url


class S3Store:
    """A bucket (and prefix) on S3 or an S3-compatible service: `<prefix>/<namespace>/<key>`.
    An object is there whole or not at all; a write returns only once S3 has confirmed it."""

    def __init__(self, url: str, *, endpoint: str | None, settings: dict):
        match = re.match(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?$", url.rstrip("/"))
        if not match:
            raise StorageError(f"STORAGE_URL {url!r} is not s3://bucket or s3://bucket/prefix (bucket names are "
                               "3-63 lower-case letters, digits, dots and hyphens).")
        self.url = url.rstrip("/")
        self.bucket = match.group(1)
        self.prefix = (match.group(2) or "").strip("/")
        self.endpoint = endpoint
        self.settings = settings
        self._client = None

    @property
    def client(self):
        if self._client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError:
                raise StorageError("STORAGE_URL is s3://… but boto3 is not installed: pip install boto3 in "
                                   "Quorum's virtualenv.") from None
            session = boto3.session.Session(
                aws_access_key_id=self.settings.get("AWS_ACCESS_KEY_ID"),
                aws_secret_access_key=self.settings.get("AWS_SECRET_ACCESS_KEY"),
                aws_session_token=self.settings.get("AWS_SESSION_TOKEN"),
                region_name=self.settings.get("AWS_DEFAULT_REGION"))
            config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60,
                            s3={"addressing_style": "path"} if self.endpoint else {})
            self._client = session.client("s3", endpoint_url=self.endpoint, config=config)
        return self._client

    def _key(self, namespace: str, key: str) -> str:
        return "/".join(part for part in (self.prefix, namespace, key) if part)

    def put(self, namespace: str, key: str, chunks: Iterable[bytes], *, durable: bool) -> None:
        from boto3.s3.transfer import TransferConfig

        name = self._key(namespace, key)
        reader = _IterReader(chunks)
        try:
            # Small files in one PUT, large ones (exports) in 8 MiB parts: never the whole file in memory.
            self.client.upload_fileobj(reader, self.bucket, name, ExtraArgs={"ContentType": "application/octet-stream"},
                                       Config=TransferConfig(multipart_threshold=8 * 1024 * 1024, use_threads=False))
            if durable:
                # The durability rule: the object is there, whole, before anyone is told it was stored.
                size = self.client.head_object(Bucket=self.bucket, Key=name)["ContentLength"]
                if size != reader.total:
                    raise StorageError(f"{self.url}: {name} was stored with {size} bytes, not {reader.total}")
        except StorageError:
            self._forget(name)
            raise
        except Exception as error:  # botocore's ClientError, EndpointConnectionError, NoCredentialsError, …
            self._forget(name)
            raise StorageError(f"{self.url}: cannot store {namespace}/{key}: {error}") from None

    def _forget(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except Exception:  # noqa: BLE001 - best effort: a write that failed leaves nothing we know of
            pass

    def open(self, namespace: str, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(namespace, key))["Body"]
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"{namespace}/{key}") from None
            raise StorageError(f"{self.url}: cannot read {namespace}/{key}: {error}") from None

    def delete(self, namespace: str, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(namespace, key))
        except Exception as error:
            raise StorageError(f"{self.url}: cannot delete {namespace}/{key}: {error}") from None

    def keys(self) -> list[tuple[str, str]]:
        start = f"{self.prefix}/" if self.prefix else ""
        found = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    namespace, _, key = item["Key"][len(start):].partition("/")
                    if key and "/" not in key and not key.startswith("."):
                        found.append((namespace, key))
        except Exception as error:
            raise StorageError(f"{self.url}: cannot list the files: {error}") from None
        return sorted(found)

    def __str__(self) -> str:
        return self.url


def store_for(url: str, app=None):
    """The store a STORAGE_URL names (file:///path or s3://bucket/prefix)."""
    app = app or current_app
    if url.startswith("s3://"):
        return S3Store(url, endpoint=app.config.get("S3_ENDPOINT_URL"), settings=app.config)
    if url.startswith("file://"):
        path = unquote(urlsplit(url).path)
        if not path.startswith("/"):
            raise StorageError(f"STORAGE_URL {url!r} must name an absolute path: file:///srv/quorum/files")
        return FileStore(Path(path))
    raise StorageError(f"STORAGE_URL {url!r} must start with file:// or s3://")


def current(app=None):
    """This site's store (STORAGE_URL), made once per app."""
    app = app or current_app
    url = app.config.get("STORAGE_URL") or "file://" + str(Path(app.config["QUORUM_INSTANCE"]) / "files")
    made_for = (url, app.config.get("S3_ENDPOINT_URL"))
    cached = app.extensions.get("quorum_store")
    if cached is None or cached[0] != made_for:
        cached = (made_for, store_for(url, app))
        app.extensions["quorum_store"] = cached
    return cached[1]


def folder(namespace: str) -> Path:
    """The local folder of a namespace (file stores only: what one-machine tools look into)."""
    found = current()
    if not isinstance(found, FileStore):
        raise StorageError(f"files are kept in {found}, not in a folder")
    return found.folder(namespace)


def new_storage_key() -> str:
    return secrets.token_hex(16)


def _check_key(storage_key: str) -> None:
    if not storage_key or "/" in storage_key or storage_key.startswith("."):
        raise FileNotFoundError(storage_key)


def write(namespace: str, data: bytes, *, storage_key: str | None = None, fsync: bool = False) -> str:
    """Encrypt and store bytes; returns the (random, unguessable) storage key. A full disk raises
    NoSpace and leaves no partial file behind. With fsync (accepted mail, exports) the file is on
    disk, or confirmed by S3, when this returns."""
    return write_stream(namespace, [data], storage_key=storage_key, fsync=fsync)


def write_stream(namespace: str, chunks: Iterable[bytes], *, storage_key: str | None = None,
                 fsync: bool = False) -> str:
    """As write(), from an iterator of plaintext pieces (an export as it is made): constant memory."""
    storage_key = storage_key or new_storage_key()
    _check_key(storage_key)
    current().put(namespace, storage_key, encrypt_stream(chunks, associated=storage_key.encode()), durable=fsync)
    return storage_key


def read_sealed(namespace: str, storage_key: str) -> bytes:
    """The encrypted bytes as stored (key rotation and `storage migrate` look at them)."""
    _check_key(storage_key)
    handle = current().open(namespace, storage_key)
    try:
        return handle.read()
    finally:
        handle.close()


def chunks(namespace: str, storage_key: str) -> Iterator[bytes]:
    """The plaintext, a checked chunk at a time (a download streams this). FileNotFoundError if
    there is no such file; the first chunk is read here, so a missing file fails before a response."""
    _check_key(storage_key)
    handle = current().open(namespace, storage_key)
    pieces = decrypt_stream(handle, associated=storage_key.encode())
    try:
        first = next(pieces)
    except BaseException:
        handle.close()
        raise

    def rest() -> Iterator[bytes]:
        try:
            yield first
            yield from pieces
        finally:
            handle.close()

    return rest()


def read(namespace: str, storage_key: str) -> bytes:
    return b"".join(chunks(namespace, storage_key))


def delete(namespace: str, storage_key: str) -> None:
    if not storage_key or "/" in storage_key:
        return
    current().delete(namespace, storage_key)


def copy_all(source, target, *, log=None) -> dict:
    """Copy every file from one store to another as stored (still encrypted; the key name travels
    with it) and check each copy by reading it back and comparing hashes. Files already there with
    the same bytes are left alone, so an interrupted migration is simply run again."""
    present = set(target.keys())
    copied = same = 0
    for namespace, key in source.keys():
        handle = source.open(namespace, key)
        try:
            blob = handle.read()
        finally:
            handle.close()
        digest = hashlib.sha256(blob).hexdigest()
        if (namespace, key) in present and _digest(target, namespace, key) == digest:
            same += 1
            continue
        target.put(namespace, key, [blob], durable=True)
        if _digest(target, namespace, key) != digest:
            raise StorageError(f"{target}: the copy of {namespace}/{key} does not match the original")
        copied += 1
        if log:
            log(f"{namespace}/{key}")
    return {"copied": copied, "already_there": same, "files": copied + same}


def _digest(found, namespace: str, key: str) -> str:
    handle = found.open(namespace, key)
    try:
        return hashlib.sha256(handle.read()).hexdigest()
    finally:
        handle.close()
