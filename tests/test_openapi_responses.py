"""Every operation of the services whose handlers dump their declared response schemas declares its
responses in the gateway's /openapi.json: one success status with its body, and its error statuses
(the common error body), so that the document is the whole contract of what each one answers."""
import requests

from tests.openapi_check import undeclared_responses

DECLARED = ("identity", "notifications", "pilotage", "documents", "automations")


def test_every_operation_declares_its_success_body_and_errors(base):
    doc = requests.get(base + "/openapi.json", timeout=30).json()
    tagged = [op for ops in doc["paths"].values() for op in ops.values() if set(op.get("tags") or ()) & set(DECLARED)]
    assert {t for op in tagged for t in op["tags"]} >= set(DECLARED)
    assert undeclared_responses(doc, DECLARED) == []
