"""The S3-compatible object store holding attachment bytes (SeaweedFS by default, MinIO or AWS in
production). The only module of boards that speaks boto3.

    objects = ObjectStore.from_settings(settings)   # no network call here
    objects.start()                                  # creates the bucket in the background, retrying
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
        session = boto3.session.Session()

        def client(**config):
            # Path-style addressing: SeaweedFS and MinIO serve one host, not bucket subdomains.
            # Checksums only when required: S3-compatible servers differ on the newer trailers.
            return session.client(
                "s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                region_name=region,
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                              request_checksum_calculation="when_required",
                              response_checksum_validation="when_required", **config))

        self.s3 = client(connect_timeout=connect_timeout, read_timeout=read_timeout,
                         retries={"max_attempts": max_attempts, "mode": "standard"}, max_pool_connections=pool)
        # /health must answer fast: one try, short timeouts.
        self._probe = client(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"},
                             max_pool_connections=2)
        self._bucket_ready = threading.Event()
        self._health = (0.0, False)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

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
        """Ensure the bucket in a daemon thread, retrying with backoff: never blocks start-up."""
        if self._thread is not None:
            return self

        def run():
            delay = 0.2
            while not self._stop.is_set():
                try:
                    self.ensure_bucket()
                    return
                except (BotoCoreError, ClientError) as exc:
                    log.warning("S3 bucket %s not ready at %s (%s); retrying in %.1fs",
                                self.bucket, self.endpoint, exc, delay)
                    self._stop.wait(delay)
                    delay = min(delay * 2, 5)

        self._thread = threading.Thread(target=run, name="s3-bucket-setup", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop retrying the bucket set-up (tests, shutdown)."""
        self._stop.set()

    def healthy(self) -> bool:
        """Whether the bucket answers; cached for a second so /health polling stays cheap."""
        checked_at, ok = self._health
        if time.monotonic() - checked_at < 1.0:
            return ok
        try:
            self._probe.head_bucket(Bucket=self.bucket)
            ok = True
        except Exception:  # noqa: BLE001 - health reports, never raises
            ok = False
        self._health = (time.monotonic(), ok)
        return ok

    # ---------------------------------------------------------------- objects
    def _call(self, fn, **kwargs):
        """One S3 call; a missing bucket (S3 came up after us, or was wiped) is created once."""
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
