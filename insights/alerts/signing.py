"""The Standard Webhooks signature of a delivery (``webhook-id``, ``-timestamp``, ``-signature``).

The signature is HMAC-SHA256 over ``id.timestamp.body`` with the hook's secret
(``whsec_`` + base64), sent as ``v1,<base64>``; while a hook's secret is being
rotated both the new and the previous one sign, space separated, so a receiver
holding either verifies. The id is the notification's: the same on every retry,
so a receiver can drop a repeat.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, base64, with the ``whsec_`` prefix."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(message_id: str, at: datetime, body: bytes, secrets_: Sequence[str]
            ) -> dict[str, str]:
    """The three headers of a delivery signed with every secret in ``secrets_``."""
    signatures = " ".join(Webhook(secret).sign(message_id, at, body) for secret in secrets_)
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json",
            "user-agent": "insights-alerts"}
