"""Helpers shared by the App tests (fixtures are in conftest.py, which imports them from here)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from bot.adapters.github.auth import GitHubApp, make_retry
from bot.app.context import Context
from bot.app.events import signature
from bot.app.queue import Queue
from bot.app.settings import Settings
from tests.github.fake_github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = Path(__file__).parent / "platform"
SECRET = "It's a Secret to Everybody"
APP_ID = 4242


def headers(event: str, body: bytes, delivery: str, secret: str = SECRET) -> dict[str, str]:
    return {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature(secret, body),
            "Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/test"}


@dataclass
class Bot:
    """The App wired for unit tests: Flask test client for intake, the queue run in this thread."""

    settings: Settings
    queue: Queue
    client: FlaskClient
    ctx: Context
    fake: FakeGitHub

    def deliver(self, event: str, payload: dict[str, Any], delivery: str | None = None) -> Any:
        body = json.dumps(payload).encode()
        return self.client.post("/webhook", data=body, headers=headers(event, body, delivery or str(uuid.uuid4())))

    def work(self, include_scheduled: bool = False) -> int:
        return self.queue.run_pending(include_scheduled=include_scheduled)


def make_queue(settings: Settings) -> Queue:
    return Queue.from_settings(settings, retry_delays=(0.0,), max_attempts=3)


def make_github(settings: Settings) -> GitHubApp:
    return GitHubApp(settings.app_id, settings.private_key, settings.github_api_url, throttle=False,
                     retry=make_retry(total=3, backoff=0.0, secondary_rate_wait=0.2))


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a real worker or gunicorn process gets for `settings` (PLEDGE_* only, no secrets logged)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEDGE_")}
    env.update({
        "PLEDGE_WEBHOOK_SECRET": settings.webhook_secret,
        "PLEDGE_APP_ID": settings.app_id,
        "PLEDGE_PRIVATE_KEY": settings.private_key,
        "PLEDGE_GITHUB_API_URL": settings.github_api_url,
        "PLEDGE_GIT_URL": settings.git_url,
        "PLEDGE_DATA_DIR": str(settings.data_dir),
        "PLEDGE_QUEUE": settings.queue_url,
        "PLEDGE_GITHUB_THROTTLE": settings.github_throttle,
        "PYTHONPATH": str(ROOT),
    })
    env.update(extra)
    return env
