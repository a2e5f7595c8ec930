"""Passwords: argon2id hashes and the password policy of MLPS 2.0 8.1.4.1 (complexity, periodic change).

The policy numbers are settings (``HUITONG_SECURITY__PASSWORD_*``) because the standard names the control,
not the numbers; the defaults (12 characters, 3 of 4 classes, no reuse of the last 5, change every 90 days)
follow common assessor practice and are marked [U] in docs/security.md.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from huitong.settings import SecuritySettings

#: argon2id with the RFC 9106 "second recommended" parameters (64 MiB, 3 passes).
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)


class PasswordPolicyError(ValueError):
    """A password that the policy refuses; the message says why (shown to the user)."""


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """How strong a new password must be."""

    min_length: int = 12
    min_classes: int = 3
    history: int = 5

    @classmethod
    def from_settings(cls, settings: SecuritySettings) -> PasswordPolicy:
        return cls(settings.password_min_length, settings.password_min_classes, settings.password_history)

    def check(self, password: str, *, user_id: str = "", previous_hashes: Iterable[str] = ()) -> None:
        """Raise :class:`PasswordPolicyError` unless ``password`` may be set."""
        if len(password) < self.min_length:
            raise PasswordPolicyError(f"at least {self.min_length} characters are required")
        classes = sum(
            any(c in group for c in password)
            for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        ) + any(not c.isalnum() for c in password)
        if classes < self.min_classes:
            raise PasswordPolicyError(f"mix at least {self.min_classes} of: lower case, upper case, digits, symbols")
        if user_id and user_id.lower() in password.lower():
            raise PasswordPolicyError("the password must not contain the login name")
        for old in list(previous_hashes)[: self.history]:
            if verify_password(old, password):
                raise PasswordPolicyError(f"the password must differ from the last {self.history}")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (with its own random salt)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; never raises for a wrong password or a bad hash."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)


_DUMMY: dict[int, str] = {}


def dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so timing does not reveal which logins exist."""
    key = id(_HASHER)
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("huitong-no-such-user")
    return _DUMMY[key]
