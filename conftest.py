"""Session fixtures: the real infrastructure and the whole system, started once on free ports."""
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from devtools.stack import Stack
from tests.support import register


@pytest.fixture(scope="session")
def stack():
    root = Path(tempfile.mkdtemp(prefix="stellary-test-"))
    s = Stack.start(root)
    yield s
    s.stop()
    if not os.environ.get("KEEP_TEST_DATA"):
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def base(stack):
    return stack.url


@pytest.fixture
def alice(base):
    return register(base, name="Alice")


@pytest.fixture
def bob(base):
    return register(base, name="Bob")
