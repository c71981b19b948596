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


# ---- responses checked against /openapi.json (tests/openapi_check.py)
# The suites whose every Client response of the RESPONSES_TAGGED services' operations must match the
# document the gateway serves. A service whose handlers dump their declared response schemas joins the tags.
RESPONSES_CHECKED = ("services/boards/", "services/identity/", "services/webhooks/", "services/agents/", "services/notifications/", "services/pilotage/", "services/automations/", "services/mcp/", "tests/test_reference_walkthrough.py", "tests/test_tenant_isolation.py")
RESPONSES_TAGGED = ("boards", "identity", "webhooks", "agents", "notifications", "pilotage", "documents", "automations")


@pytest.fixture(scope="session")
def openapi_checker(base):
    from tests.openapi_check import ResponseChecker
    return ResponseChecker.from_gateway(base, tags=RESPONSES_TAGGED)


@pytest.fixture(autouse=True)
def responses_match_openapi(request):
    """In RESPONSES_CHECKED suites (tests that reach the gateway), every response body seen through
    `tests.support.Client` validates against `/openapi.json`; the test fails on the first that does not."""
    where = Path(str(request.node.fspath)).resolve().relative_to(Path(__file__).parent.resolve()).as_posix()
    if "base" not in request.fixturenames or not where.startswith(RESPONSES_CHECKED):
        yield
        return
    from tests.openapi_check import observing
    checker = request.getfixturevalue("openapi_checker")
    checker.problems.clear()
    with observing(checker):
        yield
    assert not checker.problems, checker.report()
