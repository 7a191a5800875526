"""Dashboard passwords: argon2id hashes (``argon2-cffi``'s RFC 9106 low-memory profile).

:func:`verify` spends the same work whether or not the account exists (a dummy
hash stands in), so response time tells nobody which e-mail addresses have
accounts.
"""

from __future__ import annotations

from functools import cache
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH: Final = 12


class WeakPassword(ValueError):
    """A password refused before it is stored."""


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    return _hasher().hash("not a password of anybody")


def check_strength(password: str) -> None:
    """Refuse a password shorter than ``MIN_LENGTH`` or made of one repeated character."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(set(password)) < 4:
        raise WeakPassword("a password needs at least 4 different characters")


def hash_password(password: str) -> str:
    """The argon2id hash to store (salted, parameters encoded in the string)."""
    check_strength(password)
    return _hasher().hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; None (no account, no password set)
    is verified against a dummy hash and is always False."""
    try:
        return _hasher().verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(stored_hash)


def rehash(password: str) -> str:
    """A new hash of a password that was just verified (no strength check: it is the
    account's password already, whatever today's policy)."""
    return _hasher().hash(password)
