"""Fixtures for tests/deploy (helpers live in deploytest.py)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    """A throwaway RSA key in PEM: what PLEDGE_PRIVATE_KEY(_FILE) must hold for a process to start."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
