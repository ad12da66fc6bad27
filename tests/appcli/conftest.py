"""Fixtures for the App's command line: a signing key, the fake GitHub over HTTP on loopback, PLEDGE_* settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.github.fake_github import FakeGitHub
from tests.github.fake_github_server import serve

APP_ID = 4242


def new_key() -> tuple[str, bytes]:
    """A throwaway RSA key: (private PEM text, public PEM bytes)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture(scope="session")
def app_key() -> tuple[str, bytes]:
    return new_key()


@pytest.fixture
def github(app_key: tuple[str, bytes]) -> Iterator[FakeGitHub]:
    """The fake GitHub on a loopback port, checking the App's JWT; fails the test on any OpenAPI violation."""
    with serve(app_id=APP_ID, public_key=app_key[1]) as fake:
        yield fake
        assert fake.violations == []


@pytest.fixture
def env(tmp_path: Path, app_key: tuple[str, bytes], github: FakeGitHub) -> dict[str, str]:
    """The App's PLEDGE_* variables as a deployment has them (key in a file, SQLite queue)."""
    pem = tmp_path / "key.pem"
    pem.write_text(app_key[0])
    return {"PLEDGE_APP_ID": str(APP_ID), "PLEDGE_PRIVATE_KEY_FILE": str(pem), "PLEDGE_PRIVATE_KEY": "",
            "PLEDGE_WEBHOOK_SECRET": "s3cret", "PLEDGE_GITHUB_API_URL": github.base_url,
            "PLEDGE_DATA_DIR": str(tmp_path / "data"), "PLEDGE_QUEUE": "", "PLEDGE_APP_SLUG": "pledge-app"}
