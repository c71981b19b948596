"""Secrets and signatures, per the Standard Webhooks spec (the `standardwebhooks` package signs).

A secret is `whsec_` + base64 of 32 random bytes, shown once (creation, rotation). An endpoint keeps
its current secret and, for 24 h after a rotation, the previous ones; every delivery is signed with
each secret still valid, so a receiver verifies with the old or the new one during the overlap:

    webhook-id: <event id>
    webhook-timestamp: 1767225600
    webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body", new secret> v1,<…, old secret>
"""
from __future__ import annotations

import base64
import secrets
from datetime import datetime, timezone

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32
ROTATION_OVERLAP_MS = 24 * 3600 * 1000


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def valid_secrets(stored: list[dict], at_ms: int) -> list[str]:
    """The secrets that sign at `at_ms`: the current one (no expiry) and those not yet expired."""
    return [s["secret"] for s in stored or [] if not s.get("expiresAtMs") or s["expiresAtMs"] > at_ms]


def rotated(stored: list[dict], *, at_ms: int) -> tuple[str, list[dict]]:
    """A new current secret, the previous current one valid 24 h more, expired ones dropped."""
    secret = new_secret()
    kept = []
    for s in stored or []:
        expires = s.get("expiresAtMs") or (at_ms + ROTATION_OVERLAP_MS)
        if expires > at_ms:
            kept.append({"secret": s["secret"], "createdAtMs": s.get("createdAtMs"), "expiresAtMs": expires})
    return secret, [{"secret": secret, "createdAtMs": at_ms, "expiresAtMs": None}] + kept


def headers(*, msg_id: str, body: str, secrets_: list[str], timestamp: datetime | None = None) -> dict:
    """The three Standard Webhooks headers (and the content type) for one attempt."""
    stamp = (timestamp or datetime.now(timezone.utc)).astimezone(timezone.utc)
    signatures = " ".join(Webhook(s).sign(msg_id, stamp, body) for s in secrets_)
    return {"content-type": "application/json", "webhook-id": msg_id,
            "webhook-timestamp": str(int(stamp.timestamp())), "webhook-signature": signatures,
            "user-agent": "Stellary-Webhooks/1"}
