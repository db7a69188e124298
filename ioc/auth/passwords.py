"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong
# password and the response time does not reveal which names exist.
_DUMMY = _HASHER.hash("no user has this password")
MIN_LENGTH = 8


class WeakPassword(ValueError):
    """A password too short to accept."""


def hash_password(password: str) -> str:
    """An argon2id hash of `password`, refusing ones shorter than MIN_LENGTH."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    return _HASHER.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash (None: no such user, still takes the time)."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
