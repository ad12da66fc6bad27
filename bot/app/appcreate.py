"""`pledge app create`: GitHub's manifest flow through a page on 127.0.0.1, then the App's settings to an env file."""

from __future__ import annotations

import html
import json
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bot.adapters.errors import GitHubError
from bot.adapters.github.appapi import convert_manifest_code
from bot.app.manifest import manifest, new_app_url
from bot.app.settings import DEFAULT_API_URL

CALLBACK = "/callback"


@dataclass(frozen=True)
class Created:
    """The App GitHub made from the manifest, as written to the env file (no secret kept here)."""

    app_id: int
    slug: str
    html_url: str
    env_file: Path
    key_file: Path


def form_page(action: str, manifest_json: str) -> str:
    """The page that posts the manifest to GitHub at once (a button for browsers without scripts)."""
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Create the Pledge GitHub App</title></head>
<body onload="document.forms[0].submit()">
<form action="{html.escape(action)}" method="post">
<input type="hidden" name="manifest" value="{html.escape(manifest_json)}">
<p>Sending Pledge's App manifest to GitHub… <button type="submit">Create the GitHub App</button></p>
</form></body></html>
"""


def write_env(out: Path, app: dict[str, Any], api_url: str) -> Created:
    """The env file and the key next to it, both 0600 and created new (never overwriting)."""
    slug = str(app["slug"])
    key_file = out.with_name(f"{slug}.private-key.pem").absolute()
    _write_private(key_file, str(app["pem"]))
    lines = [f"PLEDGE_APP_ID={app['id']}", f"PLEDGE_APP_SLUG={slug}", f"PLEDGE_PRIVATE_KEY_FILE={key_file}",
             f"PLEDGE_WEBHOOK_SECRET={app['webhook_secret']}"]
    if api_url.rstrip("/") != DEFAULT_API_URL:
        lines.append(f"PLEDGE_GITHUB_API_URL={api_url.rstrip('/')}")
    _write_private(out, "\n".join(lines) + "\n")
    return Created(int(app["id"]), slug, str(app.get("html_url") or ""), out, key_file)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class ManifestFlow:
    """Serves the form on 127.0.0.1, receives GitHub's redirect with ?code&state, exchanges the code once."""

    def __init__(self, url: str, out: Path, *, name: str = "pledge", org: str | None = None, port: int = 0,
                 github_url: str = "https://github.com", api_url: str = DEFAULT_API_URL,
                 homepage: str | None = None) -> None:
        self.out, self.api_url = out, api_url
        self.state = secrets.token_urlsafe(24)
        self.created: Created | None = None
        self.error: str | None = None
        self.done = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.local_url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.manifest = manifest(url, name=name, homepage=homepage, redirect_url=self.local_url.rstrip("/") + CALLBACK)
        self.action = new_app_url(github_url, org) + "?" + urlencode({"state": self.state})

    def run(self, timeout: float) -> Created:
        """Serve until the App is created (or a failure, or `timeout` seconds); raise RuntimeError on failure."""
        thread = threading.Thread(target=self.server.serve_forever, name="pledge-app-create", daemon=True)
        thread.start()
        try:
            if not self.done.wait(timeout):
                raise RuntimeError(f"no answer from GitHub within {timeout:.0f} s")
        finally:
            self.server.shutdown()
            self.server.server_close()
        if self.created is None:
            raise RuntimeError(self.error or "the App was not created")
        return self.created

    def callback(self, query: dict[str, list[str]]) -> tuple[int, str]:
        """GitHub's redirect: the state must be ours, then the code is exchanged (once) and the file written."""
        state, code = query.get("state", [""])[-1], query.get("code", [""])[-1]
        if self.done.is_set():
            return 409, "This flow is already finished."
        if not secrets.compare_digest(state.encode(), self.state.encode()):
            return 400, "The state does not match this run of pledge app create: ignored."
        if not code:
            return 400, "No code in GitHub's redirect."
        try:
            app = convert_manifest_code(code, self.api_url)
            self.created = write_env(self.out, app, self.api_url)
        except GitHubError as exc:
            self.error = f"GitHub refused the code exchange ({exc.status}): start pledge app create again"
        except OSError as exc:
            self.error = f"cannot write {self.out}: {exc.strerror}"
        self.done.set()
        if self.created is None:
            return 502, self.error or "failed"
        return 200, f"Created the GitHub App {self.created.slug}; its settings are in {self.out}. Close this tab."


def _handler(flow: ManifestFlow) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/":
                self._send(200, form_page(flow.action, json.dumps(flow.manifest)), "text/html")
            elif parts.path == CALLBACK:
                status, text = flow.callback(parse_qs(parts.query))
                self._send(status, f"<!doctype html><p>{html.escape(text)}</p>\n", "text/html")
            else:
                self._send(404, "not found\n", "text/plain")

        def _send(self, status: int, body: str, kind: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # the URL carries the code: never logged
            pass

    return Handler
