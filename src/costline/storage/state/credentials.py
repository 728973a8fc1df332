"""Secrets of the state store: API tokens, session ids and passwords, and their hashes.

* API tokens are ``cl_<prefix>_<secret>``: an 8-character random prefix (stored in clear, it
  names the token in listings) and 32 random bytes from :func:`secrets.token_urlsafe`. Only the
  sha256 of the whole token is stored; with that much randomness a fast hash is right (nothing
  to brute-force), and lookups stay cheap on every request.
* Session ids are 32 random bytes too; the table holds their sha256.
* Passwords are people-chosen, so they get a slow, salted hash: :func:`hashlib.scrypt`
  (n=2**14, r=8, p=1, 16-byte salt per user), stored as ``scrypt$n$r$p$salt$hash``.

Every comparison goes through :func:`hmac.compare_digest`.

Example:
    >>> token = new_token()
    >>> token.value.startswith("cl_" + token.prefix + "_"), len(token.hash)
    (True, 64)
    >>> split_token(token.value) == token.prefix
    True
    >>> check_password("correct horse", hash_password("correct horse"))
    True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

TOKEN_MARK = "cl_"
PREFIX_LEN = 8
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10


@dataclass(frozen=True)
class NewToken:
    """A freshly made token: ``value`` is shown once and never stored."""

    value: str
    prefix: str
    hash: str

    def __repr__(self) -> str:  # never print the value by accident
        return f"NewToken(prefix={self.prefix!r})"


def sha256_hex(text: str) -> str:
    """The sha256 of ``text`` as 64 hex digits."""
    return hashlib.sha256(text.encode()).hexdigest()


def new_token() -> NewToken:
    """A new random API token with its prefix and hash."""
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LEN))
    value = f"{TOKEN_MARK}{prefix}_{secrets.token_urlsafe(32)}"
    return NewToken(value=value, prefix=prefix, hash=sha256_hex(value))


def split_token(value: str) -> str | None:
    """The prefix of a well-formed token, or None for anything else."""
    head = len(TOKEN_MARK) + PREFIX_LEN
    if len(value) < head + 2 or not value.startswith(TOKEN_MARK) or value[head] != "_":
        return None
    prefix = value[len(TOKEN_MARK) : head]
    return prefix if all(c in PREFIX_ALPHABET for c in prefix) else None


def same_hash(a: str, b: str) -> bool:
    """Constant-time equality of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_session_id() -> str:
    """A random session id for a cookie (its sha256 is what the table keeps)."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=32)


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` in ``scrypt$n$r$p$salt$hash`` form."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; with nothing stored it still spends the time
    of one hash, so a missing user cannot be told from a wrong password by timing."""
    if stored is None:
        _scrypt(password, b"\0" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, base64.b64decode(digest))
