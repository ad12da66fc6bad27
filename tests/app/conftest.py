"""Fixtures for the GitHub App: a signing key, the fake GitHub (responses), a local git remote, a queue.
Helpers the tests import live in apptest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.adapters.git.mirror import Mirror
from bot.app.context import Context
from bot.app.dispatch import Dispatcher
from bot.app.settings import Settings
from bot.app.web import create_app
from tests.app.apptest import APP_ID, PLATFORM, SECRET, Bot, make_github, make_queue
from tests.app.live import free_port, wait_until
from tests.github.fake_git_remote import GitRemote
from tests.github.fake_github import FakeGitHub


@pytest.fixture(scope="session")
def app_key() -> tuple[str, bytes]:
    """A throwaway RSA key: (private PEM text, public PEM bytes) — the App's signing key in tests."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture
def github_server(app_key: tuple[str, bytes]) -> Iterator[FakeGitHub]:
    """The fake GitHub over HTTP on loopback (end-to-end tests); fails the test on any OpenAPI violation."""
    from tests.github.fake_github_server import serve

    with serve(app_id=APP_ID, public_key=app_key[1]) as fake:
        yield fake
        assert fake.violations == []


@pytest.fixture
def remote(tmp_path: Path) -> GitRemote:
    return GitRemote(tmp_path, PLATFORM)


@pytest.fixture
def settings(tmp_path: Path, app_key: tuple[str, bytes], remote: GitRemote) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    return Settings(webhook_secret=SECRET, app_id=str(APP_ID), private_key=app_key[0],
                    git_url=remote.url_template, data_dir=data, queue_url=f"sqlite://{data / 'queue.db'}",
                    github_throttle="off")


@pytest.fixture
def fake(app_key: tuple[str, bytes]) -> Iterator[FakeGitHub]:
    """The fake GitHub behind `responses`; a test fails if the bot sent anything GitHub would not accept."""
    gh = FakeGitHub(app_id=APP_ID, public_key=app_key[1])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh.install(rsps)
        yield gh
    assert gh.violations == []


@pytest.fixture
def bot(settings: Settings, fake: FakeGitHub) -> Bot:
    queue = make_queue(settings)
    ctx = Context(settings, make_github(settings), Mirror(settings.data_dir, settings.git_url), queue.journal)
    queue.processor = Dispatcher(ctx)
    client = create_app(settings, queue).test_client()
    return Bot(settings, queue, client, ctx, fake)


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """PLEDGE_TEST_REDIS_URL (set by .ci/run), else a redis-server of our own on a free loopback port."""
    url = os.environ.get("PLEDGE_TEST_REDIS_URL")
    proc = None
    if not url:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server on PATH and PLEDGE_TEST_REDIS_URL unset (apt-get install redis-server)")
        port = free_port()
        proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
    import redis

    client = redis.Redis.from_url(url)
    wait_until(lambda: _pings(client), 10, "redis")
    client.flushdb()  # a database for tests only
    try:
        yield url
    finally:
        client.flushdb()
        if proc is not None:
            proc.terminate()
            proc.wait(10)


def _pings(client: object) -> bool:
    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except Exception:
        return False
