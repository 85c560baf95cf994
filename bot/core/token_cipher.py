"""Slack tokens at rest: encrypted with OPSBOT_TOKEN_KEY before the installation store writes
them, decrypted after it reads them.

The key is one or more Fernet keys, comma-separated (`cryptography`'s authenticated
encryption: AES-128-CBC with an HMAC-SHA256). The first encrypts; every one of them decrypts,
so a key is rotated by putting the new one first, and a token is written with the new key the
next time its installation is saved (an install or a token refresh). A value that is not a
Fernet token was stored before a key was set, and is read as it is.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# The fields of slack_sdk's Installation and Bot that let someone act as the app.
SECRET_FIELDS = (
    "bot_token",
    "bot_refresh_token",
    "user_token",
    "user_refresh_token",
    "incoming_webhook_url",
)
# What every Fernet token starts with (version byte 0x80, base64url).
_FERNET_PREFIX = "gAAAAA"

Stored = TypeVar("Stored")


class TokenKeyError(ValueError):
    """A stored token was encrypted with a key that OPSBOT_TOKEN_KEY no longer holds."""


def keys_problem(keys: str) -> str | None:
    """Why `keys` is not a list of Fernet keys, or None."""
    try:
        _fernet(keys)
    except ValueError as error:
        return str(error)
    return None


def _fernet(keys: str) -> MultiFernet:
    parts = [part.strip() for part in keys.split(",") if part.strip()]
    if not parts:
        raise ValueError("no key given")
    try:
        return MultiFernet([Fernet(part.encode()) for part in parts])
    except ValueError:
        raise ValueError(
            "each key must be 32 url-safe base64-encoded bytes (`opsbot token-key` makes one)"
        ) from None


def new_key() -> str:
    return Fernet.generate_key().decode()


class TokenCipher:
    def __init__(self, keys: str) -> None:
        self.fernet = _fernet(keys)

    def seal(self, value: str) -> str:
        return self.fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        if not value.startswith(_FERNET_PREFIX):
            return value  # stored before a key was set
        try:
            return self.fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            raise TokenKeyError(
                "a stored Slack token was encrypted with a key OPSBOT_TOKEN_KEY does not hold"
            ) from None

    def sealed(self, stored: Stored) -> Stored:
        """A copy of an Installation or Bot whose secrets are encrypted."""
        return self._each(stored, self.seal)

    def opened(self, stored: Stored) -> Stored:
        """A copy of an Installation or Bot read from the store, its secrets decrypted."""
        return self._each(stored, self.open)

    @staticmethod
    def _each(stored: Stored, change: Callable[[str], str]) -> Stored:
        result = copy.copy(stored)
        for name in SECRET_FIELDS:
            value = getattr(result, name, None)
            if isinstance(value, str) and value:
                setattr(result, name, change(value))
        return result
