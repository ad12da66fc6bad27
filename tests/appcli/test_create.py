"""`pledge app create`: the local page posts the manifest to GitHub with a state, GitHub's redirect (simulated
here against the fake GitHub over HTTP) is checked and its code exchanged, the settings land in a 0600 file."""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from click.testing import CliRunner, Result

from bot.app.manifest import PERMISSIONS, events
from bot.app.settings import Settings
from bot.cli import main
from tests.appcli.conftest import new_key
from tests.github.fake_github import FakeGitHub


class Form(HTMLParser):
    """The page's form: its action, method and fields."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str] = {}
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.attrs = a
        elif tag == "input":
            self.fields[a["name"]] = a["value"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Run:
    """`pledge app create` in a thread, and a client for its local page."""

    def __init__(self, github: FakeGitHub, out: Path, *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        args = ["app", "create", "--url", "https://pledge.example.com", "--name", "Acme Pledge", "--out", str(out),
                "--port", str(self.port), "--github-url", "https://github.example", "--api-url", github.base_url,
                "--no-open", "--timeout", "30", *extra]
        self.result: Result | None = None
        self.thread = threading.Thread(target=self._run, args=(args,), daemon=True)
        self.thread.start()

    def _run(self, args: list[str]) -> None:
        self.result = CliRunner().invoke(main, args)

    def page(self) -> Form:
        for _ in range(200):
            try:
                response = requests.get(self.base + "/", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        form = Form()
        form.feed(response.text)
        return form

    def finish(self) -> Result:
        self.thread.join(30)
        assert self.result is not None
        return self.result


def submit(github: FakeGitHub, form: Form, pem: str) -> tuple[dict[str, Any], str, str]:
    """What GitHub does with the posted form: create the App, redirect the browser with ?code&state."""
    manifest = json.loads(form.fields["manifest"])
    state = parse_qs(urlsplit(form.attrs["action"]).query)["state"][0]
    code = github.manifest_code(manifest, app_id=777, pem=pem, webhook_secret="whsec-not-printed")
    return manifest, code, state


def test_the_manifest_flow_writes_the_apps_settings(github: FakeGitHub, tmp_path: Path) -> None:
    out = tmp_path / ".env.pledge"
    run = Run(github, out)
    form = run.page()
    assert form.attrs["method"] == "post"
    assert form.attrs["action"].startswith("https://github.example/settings/apps/new?state=")
    manifest, code, state = submit(github, form, new_key()[0])
    assert manifest["redirect_url"] == f"{run.base}/callback"
    assert manifest["hook_attributes"]["url"] == "https://pledge.example.com/webhook"
    assert manifest["default_permissions"] == PERMISSIONS and manifest["default_events"] == events()

    wrong = requests.get(f"{run.base}/callback", params={"code": code, "state": "forged"}, timeout=10)
    assert wrong.status_code == 400 and "does not match" in wrong.text
    assert code in github.manifest_codes  # not exchanged
    right = requests.get(manifest["redirect_url"], params={"code": code, "state": state}, timeout=10)
    assert right.status_code == 200 and "Created the GitHub App acme-pledge" in right.text
    result = run.finish()

    assert result.exit_code == 0, result.output
    key_file = tmp_path / "acme-pledge.private-key.pem"
    assert out.read_text() == (f"PLEDGE_APP_ID=777\nPLEDGE_APP_SLUG=acme-pledge\nPLEDGE_PRIVATE_KEY_FILE={key_file}\n"
                               f"PLEDGE_WEBHOOK_SECRET=whsec-not-printed\nPLEDGE_GITHUB_API_URL={github.base_url}\n")
    for path in (out, key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "BEGIN PRIVATE KEY" in key_file.read_text()
    assert "whsec" not in result.output and "PRIVATE KEY" not in result.output
    assert "Created the App acme-pledge (id 777)" in result.output
    assert [c.op_id for c in github.calls] == ["apps/create-from-manifest"]
    # the file is a working configuration
    env = dict(line.split("=", 1) for line in out.read_text().splitlines())
    settings = Settings.from_env(env | {"PLEDGE_DATA_DIR": str(tmp_path / "data")})
    assert (settings.app_id, settings.app_slug, settings.webhook_secret) == ("777", "acme-pledge", "whsec-not-printed")


def test_an_org_app_and_a_refused_code(github: FakeGitHub, tmp_path: Path) -> None:
    out = tmp_path / "env"
    run = Run(github, out, "--org", "acme")
    form = run.page()
    assert form.attrs["action"].startswith("https://github.example/organizations/acme/settings/apps/new?state=")
    manifest, code, state = submit(github, form, new_key()[0])
    github.manifest_codes.clear()  # expired, or used already
    answer = requests.get(manifest["redirect_url"], params={"code": code, "state": state}, timeout=10)
    assert answer.status_code == 502
    result = run.finish()
    assert result.exit_code == 1
    assert result.stderr == "pledge: GitHub refused the code exchange (404): start pledge app create again\n"
    assert not out.exists()


def test_an_existing_env_file_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "env"
    out.write_text("PLEDGE_APP_ID=1\n")
    result = CliRunner().invoke(main, ["app", "create", "--url", "https://p.example", "--out", str(out), "--no-open"])
    assert result.exit_code == 2 and "exists" in result.stderr
    assert out.read_text() == "PLEDGE_APP_ID=1\n"
