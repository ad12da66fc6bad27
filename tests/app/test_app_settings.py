"""PLEDGE_* configuration: defaults, every problem at once, clear exits, no secret in repr or logs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.app.settings import DEFAULT_API_URL, DEFAULT_GIT_URL, Settings, SettingsError
from tests.app.apptest import ROOT


def env(tmp_path: Path, key: str, **extra: str) -> dict[str, str]:
    base = {"PLEDGE_WEBHOOK_SECRET": "s3cret-value", "PLEDGE_APP_ID": "4242", "PLEDGE_PRIVATE_KEY": key,
            "PLEDGE_DATA_DIR": str(tmp_path / "data")}
    base.update(extra)
    return {k: v for k, v in base.items() if v != "-"}


def test_defaults(tmp_path: Path, app_key: tuple[str, bytes]) -> None:
    s = Settings.from_env(env(tmp_path, app_key[0]))
    assert s.github_api_url == DEFAULT_API_URL and s.git_url == DEFAULT_GIT_URL
    assert s.queue_kind == "sqlite" and s.sqlite_path == tmp_path / "data" / "queue.db"
    assert (tmp_path / "data").is_dir()
    assert s.workers == 4 and s.github_throttle == "github"


def test_key_from_file_and_single_line(tmp_path: Path, app_key: tuple[str, bytes]) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text(app_key[0])
    assert Settings.from_env(env(tmp_path, "-", PLEDGE_PRIVATE_KEY_FILE=str(pem))).private_key == app_key[0]
    one_line = app_key[0].replace("\n", "\\n")
    assert Settings.from_env(env(tmp_path, one_line)).private_key == app_key[0]


def test_enterprise_and_redis(tmp_path: Path, app_key: tuple[str, bytes]) -> None:
    s = Settings.from_env(env(tmp_path, app_key[0], PLEDGE_GITHUB_API_URL="https://ghe.acme.io/api/v3/",
                              PLEDGE_QUEUE="redis://:hunter2@10.0.0.5:6379/2"))
    assert s.github_api_url == "https://ghe.acme.io/api/v3"
    assert s.queue_kind == "redis"
    assert "hunter2" not in str(s.describe()) and ":***@" in s.describe()["queue"]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = {"PLEDGE_DATA_DIR": str(tmp_path / "d"), "PLEDGE_GIT_URL": "https://github.com/{org}.git",
           "PLEDGE_QUEUE": "amqp://x", "PLEDGE_WORKERS": "zero", "PLEDGE_GITHUB_API_URL": "ftp://x"}
    with pytest.raises(SettingsError) as info:
        Settings.from_env(bad)
    text = "\n".join(info.value.problems)
    for needle in ("PLEDGE_WEBHOOK_SECRET", "PLEDGE_APP_ID", "no private key", "PLEDGE_GIT_URL", "PLEDGE_QUEUE",
                   "PLEDGE_WORKERS", "PLEDGE_GITHUB_API_URL"):
        assert needle in text
    assert len(info.value.problems) == 7


def test_unusable_keys(tmp_path: Path, app_key: tuple[str, bytes]) -> None:
    with pytest.raises(SettingsError, match="not an unencrypted PEM private key"):
        Settings.from_env(env(tmp_path, "-----BEGIN RSA PRIVATE KEY-----\nnope\n-----END RSA PRIVATE KEY-----\n"))
    with pytest.raises(SettingsError, match="cannot be read"):
        Settings.from_env(env(tmp_path, "-", PLEDGE_PRIVATE_KEY_FILE=str(tmp_path / "missing.pem")))
    with pytest.raises(SettingsError, match="only one of"):
        Settings.from_env(env(tmp_path, app_key[0], PLEDGE_PRIVATE_KEY_FILE="/x.pem"))


def test_secrets_stay_out_of_repr(tmp_path: Path, app_key: tuple[str, bytes]) -> None:
    s = Settings.from_env(env(tmp_path, app_key[0]))
    shown = repr(s) + str(s.describe())
    assert "s3cret-value" not in shown and "PRIVATE KEY" not in shown


@pytest.mark.parametrize("command", [
    [sys.executable, "-m", "bot.app.worker"],
    [sys.executable, "-m", "gunicorn", "-c", "python:bot.app.gunicorn_conf", "--bind", "127.0.0.1:0",
     "bot.app.web:create_app()"],
])
def test_processes_exit_with_a_clear_message_and_no_traceback(command: list[str], tmp_path: Path) -> None:
    proc = subprocess.run(command, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                                        "PLEDGE_DATA_DIR": str(tmp_path / "d")},
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "PLEDGE_WEBHOOK_SECRET is not set" in proc.stderr
    assert "Traceback" not in proc.stderr
