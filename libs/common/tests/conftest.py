"""Fixtures of libs/common's tests: real Mongo-protocol and NATS servers (no S3), one set per module
(some tests stop and restart NATS)."""
import shutil
import tempfile
from pathlib import Path

import pytest

from devtools.infra import Infra


@pytest.fixture(scope="module")
def infra():
    root = Path(tempfile.mkdtemp(prefix="stellary-libs-"))
    inf = Infra.start(root, s3=False)
    yield inf
    inf.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def mongo_uri(infra):
    return infra.env["MONGO_URI"]
