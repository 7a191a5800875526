"""Hook secrets sealed with a key from the environment, so a database dump alone reveals none.

The key is ``INSIGHTS_SECRET_KEY`` (a Fernet key: ``insights hooks keygen`` prints
a new one). On the embedded stack (no PostgreSQL URL configured) a key is made
once and kept in ``state_dir/secret.key`` (mode 600), so the demo needs no set-up.
A configured deployment without the key is refused with that sentence: a key
made up on the spot would be lost with the container and every hook with it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from insights.settings import Settings

KEY_FILE = "secret.key"


class MissingKey(RuntimeError):
    """No key to seal hook secrets with; the message says how to set one."""


def key(settings: Settings) -> bytes:
    """The sealing key of this deployment (see the module docstring)."""
    if settings.secret_key:
        return _checked(settings.secret_key.get_secret_value().encode())
    if settings.postgres_url:
        raise MissingKey("hook secrets are sealed with INSIGHTS_SECRET_KEY, which is not set; "
                         "make one with 'insights hooks keygen' and keep it with the "
                         "deployment's other secrets")
    path = Path(settings.state_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
    return _checked(path.read_bytes().strip())


def _checked(key_: bytes) -> bytes:
    try:
        Fernet(key_)
    except ValueError as exc:
        raise MissingKey(f"INSIGHTS_SECRET_KEY is not a Fernet key ({exc}); make one with "
                         "'insights hooks keygen'") from exc
    return key_


def new_key() -> str:
    return Fernet.generate_key().decode()


def seal(secret: str, key_: bytes) -> bytes:
    return Fernet(key_).encrypt(secret.encode())


def unseal(sealed: bytes, key_: bytes) -> str:
    """The secret in clear; ``MissingKey`` when the key is not the one it was sealed with."""
    try:
        return Fernet(key_).decrypt(bytes(sealed)).decode()
    except InvalidToken as exc:
        raise MissingKey("a hook secret does not open with INSIGHTS_SECRET_KEY: the key "
                         "changed since the hook was made; add the hook again") from exc
