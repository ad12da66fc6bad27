"""HMAC signatures of raw request bodies, as GitHub (X-Hub-Signature-256) and Flux (X-Signature) send them."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection

_HEADER = re.compile(r"^(sha256|sha384|sha512)=([0-9a-fA-F]+)$")


def sign(secret: str | bytes, body: bytes, algorithm: str = "sha256") -> str:
    """`<algorithm>=` and the hex HMAC of the raw body."""
    key = secret.encode() if isinstance(secret, str) else secret
    return f"{algorithm}=" + hmac.new(key, body, getattr(hashlib, algorithm)).hexdigest()


def verify(secret: str | bytes, body: bytes, header: str | None, algorithms: Collection[str] = ("sha256",)) -> bool:
    """Constant-time check of `header` against the raw body; a missing, odd or unaccepted header is False,
    and so is any header when there is no secret."""
    match = _HEADER.match((header or "").strip())
    if not match or not secret or match[1] not in algorithms:
        return False
    return hmac.compare_digest(sign(secret, body, match[1]).encode(), f"{match[1]}={match[2].lower()}".encode())
