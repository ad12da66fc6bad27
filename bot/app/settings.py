"""The App's configuration from PLEDGE_* environment variables: the only module that reads os.environ."""

from __future__ import annotations

import os
import re
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_GIT_URL = "https://x-access-token:{token}@github.com/{repo}.git"
DEFAULT_DATA_DIR = "pledge-data"
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024  # GitHub never sends more
THROTTLE_MODES = ("github", "off")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """The environment does not describe a usable App; `problems` says what to fix, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    """Everything the web process and the worker need; secrets are kept out of repr and logs."""

    webhook_secret: str = field(repr=False)
    app_id: str
    private_key: str = field(repr=False)
    github_api_url: str = DEFAULT_API_URL
    git_url: str = DEFAULT_GIT_URL
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    queue_url: str = ""
    workers: int = 4
    github_throttle: str = "github"
    log_level: str = "INFO"
    check_name: str = "pledge"
    flux_secret: str = field(repr=False, default="")  # PLEDGE_FLUX_SECRET: HMAC key of POST /flux (empty: off)
    app_slug: str = "pledge"  # the App's slug: `@<slug> <command>` and our own comments are recognized by it
    retention_days: int = 30  # PLEDGE_RETENTION_DAYS: state records untouched this long are dropped

    @property
    def queue_kind(self) -> str:
        return "redis" if self.queue_url.startswith(("redis://", "rediss://", "unix://")) else "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file of the queue (only meaningful when queue_kind is sqlite)."""
        return Path(self.queue_url.removeprefix("sqlite://"))

    def describe(self) -> dict[str, Any]:
        """What is safe to log: no secret, no key, and the queue URL without its password."""
        return {
            "app_id": self.app_id,
            "github_api_url": self.github_api_url,
            "git_url": self.git_url,
            "data_dir": str(self.data_dir),
            "queue": _safe(self.queue_url),
            "workers": self.workers,
            "github_throttle": self.github_throttle,
            "log_level": self.log_level,
            "flux_feedback": bool(self.flux_secret),
            "app_slug": self.app_slug,
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; raise SettingsError listing all problems at once."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def get(name: str, default: str = "") -> str:
            return env.get(name, default).strip()

        secret = env.get("PLEDGE_WEBHOOK_SECRET", "")
        if not secret:
            problems.append("PLEDGE_WEBHOOK_SECRET is not set: use the webhook secret configured in the GitHub App")
        app_id = get("PLEDGE_APP_ID")
        if not app_id:
            problems.append("PLEDGE_APP_ID is not set: use the App ID (or Client ID) from the App's settings page")

        key = _private_key(env, problems)

        api_url = get("PLEDGE_GITHUB_API_URL", DEFAULT_API_URL).rstrip("/") or DEFAULT_API_URL
        if urlsplit(api_url).scheme not in ("http", "https") or not urlsplit(api_url).netloc:
            problems.append(f"PLEDGE_GITHUB_API_URL must be an http(s) URL, got {api_url!r}")

        git_url = get("PLEDGE_GIT_URL", DEFAULT_GIT_URL) or DEFAULT_GIT_URL
        fields = {name for _lit, name, _spec, _conv in string.Formatter().parse(git_url) if name is not None}
        if "repo" not in fields or fields - {"repo", "token"}:
            problems.append(
                "PLEDGE_GIT_URL must be a template using {repo} (and usually {token}) and nothing else, "
                f"got {git_url!r}"
            )

        data_dir = Path(get("PLEDGE_DATA_DIR", DEFAULT_DATA_DIR) or DEFAULT_DATA_DIR).expanduser().absolute()
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(data_dir, os.W_OK):
                problems.append(f"PLEDGE_DATA_DIR {data_dir} is not writable")
        except OSError as exc:
            problems.append(f"PLEDGE_DATA_DIR {data_dir} cannot be created: {exc.strerror}")

        queue = get("PLEDGE_QUEUE") or f"sqlite://{data_dir / 'queue.db'}"
        if queue.startswith("sqlite://"):
            if not Path(queue.removeprefix("sqlite://")).is_absolute():
                problems.append(f"PLEDGE_QUEUE sqlite:// needs an absolute path (sqlite:///srv/q.db), got {queue!r}")
        elif not queue.startswith(("redis://", "rediss://", "unix://")):
            problems.append(f"PLEDGE_QUEUE must be sqlite:///path or redis://host:port/db, got {_safe(queue)!r}")

        workers = _positive(get("PLEDGE_WORKERS", "4"), "PLEDGE_WORKERS must be a positive integer", problems)
        retention = _positive(get("PLEDGE_RETENTION_DAYS", "30"),
                              "PLEDGE_RETENTION_DAYS must be a positive number of days", problems)

        throttle = get("PLEDGE_GITHUB_THROTTLE", "github") or "github"
        if throttle not in THROTTLE_MODES:
            problems.append(f"PLEDGE_GITHUB_THROTTLE must be one of {', '.join(THROTTLE_MODES)}, got {throttle!r}")

        flux_secret = env.get("PLEDGE_FLUX_SECRET", "")
        if flux_secret and len(flux_secret) < 16:
            problems.append("PLEDGE_FLUX_SECRET is too short: use the random token of the Flux Secret (16+ characters)")

        level = get("PLEDGE_LOG_LEVEL", "INFO").upper() or "INFO"
        if level not in LOG_LEVELS:
            problems.append(f"PLEDGE_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")

        slug = get("PLEDGE_APP_SLUG", "pledge").lower() or "pledge"
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,33}", slug):
            problems.append(f"PLEDGE_APP_SLUG must be the App's slug (as in github.com/apps/<slug>), got {slug!r}")

        if problems:
            raise SettingsError(problems)
        return cls(
            webhook_secret=secret,
            app_id=app_id,
            private_key=key,
            github_api_url=api_url,
            git_url=git_url,
            data_dir=data_dir,
            queue_url=queue,
            workers=workers,
            github_throttle=throttle,
            log_level=level,
            flux_secret=flux_secret,
            app_slug=slug,
            retention_days=retention,
        )


def _positive(text: str, problem: str, problems: list[str]) -> int:
    """A positive integer from an environment value, else 0 and the problem (with what was given)."""
    value = int(text) if text.isdigit() and int(text) > 0 else 0
    if not value:
        problems.append(f"{problem}, got {text!r}")
    return value


def _private_key(env: Mapping[str, str], problems: list[str]) -> str:
    path = env.get("PLEDGE_PRIVATE_KEY_FILE", "").strip()
    inline = env.get("PLEDGE_PRIVATE_KEY", "")
    if path and inline:
        problems.append("set only one of PLEDGE_PRIVATE_KEY_FILE and PLEDGE_PRIVATE_KEY")
        return ""
    if path:
        try:
            key = Path(path).expanduser().read_text()
        except OSError as exc:
            problems.append(f"PLEDGE_PRIVATE_KEY_FILE {path} cannot be read: {exc.strerror}")
            return ""
        source = f"PLEDGE_PRIVATE_KEY_FILE {path}"
    elif inline:
        key = inline.replace("\\n", "\n")  # a key pasted on one line with literal \n
        source = "PLEDGE_PRIVATE_KEY"
    else:
        problems.append(
            "no private key: set PLEDGE_PRIVATE_KEY_FILE to the App's .pem file (or PLEDGE_PRIVATE_KEY to its text)"
        )
        return ""
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        load_pem_private_key(key.encode(), password=None)
    except (ValueError, TypeError):
        problems.append(f"{source} is not an unencrypted PEM private key (download one from the App's settings)")
        return ""
    return key


def _safe(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(":" + parts.password + "@", ":***@") if parts.password else url


def load_or_exit(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for a process entry point: on a problem, print what to fix and exit 2 (no traceback)."""
    try:
        return Settings.from_env(environ)
    except SettingsError as exc:
        print("pledge: cannot start, the configuration has problems:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("See docs/app.md for every PLEDGE_* variable.", file=sys.stderr)
        raise SystemExit(2) from None
