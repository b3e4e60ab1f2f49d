"""The one home of the temporary id: its shape, its HMAC, and the masks that find it.

A temporary id is ``IN`` + 16 Base32 characters: HMAC-SHA1, keyed with the deployment's
salt, of a normalized company name (see the normalization contract). Ids are keys
forever — written downstream and remapped later — so this module is the only place that
computes or recognises one. Pure: the salt is passed in, never read or logged here.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EMPTY_KEY",
    "TEMP_ID_PATTERN",
    "TEMP_ID_PREFIX",
    "is_temp_id",
    "salt_bytes",
    "temp_id_for_key",
    "temp_id_for_key_bytes",
    "temp_id_mask",
]

EMPTY_KEY: Final = "__empty__"
"""What an empty normalized name is hashed as (real keys are upper case, so no collision)."""

TEMP_ID_PREFIX: Final = "IN"
_BASE32_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
TEMP_ID_PATTERN: Final = re.compile(f"{TEMP_ID_PREFIX}[{_BASE32_ALPHABET}]{{16}}")
"""The shape of a temporary id; match it with ``fullmatch``."""


# HMAC-SHA1 (RFC 2104) with the key's inner and outer pads hashed once per salt: the same
# bytes as hmac.digest(salt, msg, "sha1"), at about half the cost per ID. A unit test checks
# the two agree. The cache is tiny and bounded; there is one salt per deployment.
_SHA1_BLOCK = 64
_IPAD: Final = bytes(b ^ 0x36 for b in range(256))
_OPAD: Final = bytes(b ^ 0x5C for b in range(256))
# RFC 4648 Base32 of 10 bytes is 16 characters: 8 groups of 10 bits, two characters each.
_BASE32_PAIRS: Final = [a + b for a in _BASE32_ALPHABET for b in _BASE32_ALPHABET]


def _sha1(data: bytes) -> Any:
    # SHA-1 inside HMAC is what the contract fixes; HMAC does not rest on collision resistance.
    return hashlib.sha1(data)  # noqa: S324


@functools.lru_cache(maxsize=8)
def _hmac_sha1_pads(salt_bytes: bytes) -> tuple[Any, Any]:
    key = _sha1(salt_bytes).digest() if len(salt_bytes) > _SHA1_BLOCK else salt_bytes
    key = key.ljust(_SHA1_BLOCK, b"\0")
    return _sha1(key.translate(_IPAD)), _sha1(key.translate(_OPAD))


def _hmac_sha1(salt_bytes: bytes, message: bytes) -> bytes:
    inner_pad, outer_pad = _hmac_sha1_pads(salt_bytes)
    inner = inner_pad.copy()
    inner.update(message)
    outer = outer_pad.copy()
    outer.update(inner.digest())
    digest: bytes = outer.digest()
    return digest


def _base32_of_10_bytes(data: bytes) -> str:
    n = int.from_bytes(data[:10], "big")
    pairs = _BASE32_PAIRS
    return "".join([pairs[(n >> shift) & 0x3FF] for shift in range(70, -1, -10)])


def temp_id_for_key_bytes(key: str, salt_bytes: bytes) -> str:
    """:func:`temp_id_for_key` with the salt already encoded (hot loops encode it once)."""
    mac = _hmac_sha1(salt_bytes, (key or EMPTY_KEY).encode("utf-8"))
    return TEMP_ID_PREFIX + _base32_of_10_bytes(mac)


def salt_bytes(salt: object) -> bytes:
    """The salt's UTF-8 bytes; ``TypeError``/``ValueError`` (never quoting it) when unusable."""
    if not isinstance(salt, str):
        raise TypeError("salt must be a str")
    try:
        return salt.encode("utf-8")
    except UnicodeEncodeError:
        # The message must not quote the salt: it is a secret.
        raise ValueError("salt must be encodable as UTF-8") from None


def temp_id_for_key(key: str, salt: str) -> str:
    """The temporary company ID of an already-normalized ``key``.

    HMAC-SHA1 keyed with ``salt`` over the key (``__empty__`` when it is empty), first 10
    bytes, Base32 without padding. Equals ``normalizer.generate_temp_company_id(name, salt)``
    whenever ``key == normalize_for_temp_id(name)``, without normalizing again.
    """
    return temp_id_for_key_bytes(key, salt_bytes(salt))


def is_temp_id(value: str) -> bool:
    """Whether ``value`` is a temporary id (``IN`` + 16 Base32 characters)."""
    return TEMP_ID_PATTERN.fullmatch(value) is not None


def temp_id_mask(values: pd.Series) -> pd.Series:
    """Per cell, whether it holds a temporary id (a boolean Series on the same index)."""
    pattern = TEMP_ID_PATTERN.pattern
    return values.astype("string").str.fullmatch(pattern).fillna(False).astype(bool)
