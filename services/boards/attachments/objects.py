"""The S3-compatible object store holding attachment bytes (SeaweedFS by default, MinIO or AWS in
production). The only module of boards that speaks boto3.

    objects = ObjectStore.from_settings(settings)   # no network call, no boto3 client yet
    objects.start()                                  # a no-op: client and bucket are made on first use
    objects.put(key, fileobj, size=..., content_type=...)
    obj = objects.get(key)                           # obj.length, obj.chunks() -> iterator of bytes
    objects.delete(key)                              # idempotent: a missing key is not an error
    objects.healthy()                                # for /health, never raises

Errors surface as `ObjectStoreError` (S3 refused or unreachable) or `ObjectMissing` (no such key).
"""
from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
_MISSING_BUCKET = {"NoSuchBucket"}
_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}


class ObjectStoreError(Exception):
    """S3 refused the request or could not be reached."""


class ObjectMissing(ObjectStoreError):
    """The key is not in the bucket."""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass
class StoredObject:
    length: int
    content_type: str | None
    body: object  # botocore StreamingBody

    def chunks(self, size: int = CHUNK):
        """Yield the bytes; always closes the S3 connection, even when the client goes away."""
        try:
            yield from self.body.iter_chunks(size)
        finally:
            self.close()

    def close(self) -> None:
        self.body.close()   # idempotent


class ObjectStore:
    def __init__(self, *, endpoint: str, bucket: str, access_key: str, secret_key: str, region: str,
                 connect_timeout: float = 3, read_timeout: float = 60, max_attempts: int = 3,
                 pool: int = 32):
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self._settings = dict(access_key=access_key, secret_key=secret_key, connect_timeout=connect_timeout,
                              read_timeout=read_timeout, max_attempts=max_attempts, pool=pool)
        self._s3 = None
        self._lock = threading.Lock()
        self._bucket_ready = threading.Event()
        self._health = (0.0, False)

    @property
    def s3(self):
        """The boto3 client, made on first use: its S3 model is ~14 MiB a process pays only once
        attachments are used (a stack at rest, or one without attachments, never pays it)."""
        if self._s3 is None:
            with self._lock:
                if self._s3 is None:
                    o = self._settings
                    # Path-style addressing: SeaweedFS and MinIO serve one host, not bucket subdomains.
                    # Checksums only when required: S3-compatible servers differ on the newer trailers.
                    self._s3 = boto3.session.Session().client(
                        "s3", endpoint_url=self.endpoint, aws_access_key_id=o["access_key"],
                        aws_secret_access_key=o["secret_key"], region_name=self.region,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required",
                                      connect_timeout=o["connect_timeout"], read_timeout=o["read_timeout"],
                                      retries={"max_attempts": o["max_attempts"], "mode": "standard"},
                                      max_pool_connections=o["pool"]))
        return self._s3

    @classmethod
    def from_settings(cls, settings) -> "ObjectStore":
        return cls(endpoint=settings.s3_endpoint, bucket=settings.s3_bucket, access_key=settings.s3_access_key,
                   secret_key=settings.s3_secret_key, region=settings.s3_region)

    # ---------------------------------------------------------------- bucket
    def ensure_bucket(self) -> None:
        """Create the bucket if missing (idempotent; concurrent creators are fine)."""
        try:
            self.s3.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            # AWS wants the region spelled out anywhere but us-east-1 (MinIO accepts it too).
            where = {} if self.region in (None, "", "us-east-1") else {
                "CreateBucketConfiguration": {"LocationConstraint": self.region}}
            try:
                self.s3.create_bucket(Bucket=self.bucket, **where)
                log.info("created bucket %s at %s", self.bucket, self.endpoint)
            except ClientError as create_exc:
                if _code(create_exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        self._bucket_ready.set()

    def start(self) -> "ObjectStore":
        """Nothing to do at start-up: the client and the bucket are made on first use (`_call`),
        so a stack that stores no attachment never loads boto3's S3 model."""
        return self

    def healthy(self) -> bool:
        """Whether the S3 endpoint answers HTTP (any answer below 500: anonymous requests are refused,
        which proves it is up); cached for a second so /health polling stays cheap. A plain request,
        not boto3: /health must not load the S3 model either."""
        checked_at, ok = self._health
        if time.monotonic() - checked_at < 1.0:
            return ok
        try:
            with urllib.request.urlopen(urllib.request.Request(self.endpoint.rstrip("/") + "/", method="HEAD"),
                                        timeout=2) as resp:
                ok = resp.status < 500
        except urllib.error.HTTPError as exc:
            ok = exc.code < 500
        except Exception:  # noqa: BLE001 - health reports, never raises
            ok = False
        self._health = (time.monotonic(), ok)
        return ok

    # ---------------------------------------------------------------- objects
    def _call(self, fn, **kwargs):
        """One S3 call; a missing bucket (S3 came up after us, or was wiped) is created once."""
        if not self._bucket_ready.is_set():
            try:
                self.ensure_bucket()
            except (BotoCoreError, ClientError) as exc:
                raise ObjectStoreError(f"S3 unreachable: {exc}") from exc
        for attempt in (1, 2):
            try:
                return fn(Bucket=self.bucket, **kwargs)
            except ClientError as exc:
                code = _code(exc)
                if code in _MISSING_BUCKET and attempt == 1:
                    self.ensure_bucket()
                    if "Body" in kwargs and hasattr(kwargs["Body"], "seek"):
                        kwargs["Body"].seek(0)
                    continue
                if code in _MISSING_KEY:
                    raise ObjectMissing(code) from exc
                raise ObjectStoreError(f"S3 refused: {code or exc}") from exc
            except BotoCoreError as exc:
                raise ObjectStoreError(f"S3 unreachable: {exc}") from exc
        raise AssertionError("unreachable")

    def put(self, key: str, fileobj, *, size: int, content_type: str) -> None:
        """Upload from a seekable file object (streamed by botocore, not read into memory)."""
        fileobj.seek(0)
        self._call(self.s3.put_object, Key=key, Body=fileobj, ContentLength=size, ContentType=content_type)

    def get(self, key: str) -> StoredObject:
        resp = self._call(self.s3.get_object, Key=key)
        return StoredObject(length=int(resp["ContentLength"]), content_type=resp.get("ContentType"),
                            body=resp["Body"])

    def delete(self, key: str) -> None:
        """Delete one key; deleting a key that is already gone succeeds (S3 semantics)."""
        try:
            self._call(self.s3.delete_object, Key=key)
        except ObjectMissing:
            pass

    def exists(self, key: str) -> bool:
        try:
            self._call(self.s3.head_object, Key=key)
            return True
        except ObjectMissing:
            return False
