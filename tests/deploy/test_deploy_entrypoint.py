"""The image's entry point (deploy/docker-entrypoint.sh) run here as real processes, as the container runs it:
`web` serves /healthz through gunicorn on a loopback port, `healthcheck` reports it, `worker` turns SIGTERM
into Huey's graceful stop, and anything else is the pledge command line. ShellCheck lints the script."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.deploytest import BIN, ROOT, free_port, tool, wait_until

ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"


@pytest.fixture
def env(tmp_path: Path, private_key_pem: str) -> dict[str, str]:
    """What the container gets: PLEDGE_* only (the image's PATH puts the virtualenv first), TMPDIR for /tmp."""
    key = tmp_path / "private-key.pem"
    key.write_text(private_key_pem)
    (tmp_path / "tmp").mkdir()
    return {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path / "tmp"),
        "PLEDGE_WEBHOOK_SECRET": "a webhook secret",
        "PLEDGE_APP_ID": "4242",
        "PLEDGE_PRIVATE_KEY_FILE": str(key),
        "PLEDGE_DATA_DIR": str(tmp_path / "data"),
        "PLEDGE_GITHUB_THROTTLE": "off",
    }


def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ENTRYPOINT), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def answers(port: int) -> bool:
    try:
        return get(port, "/healthz") == 200
    except OSError:
        return False


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; any still running at the end are killed (and the test has failed already)."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_shellcheck_finds_nothing() -> None:
    proc = subprocess.run([tool("shellcheck"), "--shell=sh", "--severity=style", str(ENTRYPOINT)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_web_serves_healthz_and_the_healthcheck_sees_it(env: dict[str, str], tmp_path: Path,
                                                         started: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    log = (tmp_path / "web.log").open("wb")
    web = subprocess.Popen([str(ENTRYPOINT), "web", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                           env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    started.append(web)

    def up() -> bool:
        assert web.poll() is None, (tmp_path / "web.log").read_text()
        return answers(port)

    wait_until(up, 30, "gunicorn /healthz through the entry point")
    assert get(port, "/readyz") == 200  # the queue answers and the key is loaded
    assert (Path(env["TMPDIR"]) / "pledge-role").read_text() == "web\n"

    health = {**env, "PLEDGE_HEALTHCHECK_URL": f"http://127.0.0.1:{port}/healthz"}
    assert run(["healthcheck"], health, tmp_path).returncode == 0

    web.send_signal(signal.SIGTERM)  # what `docker stop` sends (through tini): gunicorn's graceful stop
    assert web.wait(40) == 0, (tmp_path / "web.log").read_text()
    down = run(["healthcheck"], health, tmp_path)
    assert down.returncode == 1 and "healthcheck" in down.stderr
    assert "Traceback" not in (tmp_path / "web.log").read_text()


def test_web_without_configuration_exits_2_with_the_settings_message(env: dict[str, str], tmp_path: Path) -> None:
    bare = {k: v for k, v in env.items() if k != "PLEDGE_WEBHOOK_SECRET"}
    proc = run(["web", "--bind", f"127.0.0.1:{free_port()}"], bare, tmp_path)
    assert proc.returncode != 0
    assert "PLEDGE_WEBHOOK_SECRET is not set" in proc.stderr and "Traceback" not in proc.stderr


def test_worker_stops_gracefully_on_sigterm(env: dict[str, str], tmp_path: Path,
                                            started: list[subprocess.Popen[bytes]]) -> None:
    logfile = tmp_path / "worker.log"
    log = logfile.open("wb")
    worker = subprocess.Popen([str(ENTRYPOINT), "worker", "--workers", "2"], env=env, cwd=tmp_path,
                              stdout=log, stderr=subprocess.STDOUT)
    started.append(worker)

    def consuming() -> bool:
        assert worker.poll() is None, logfile.read_text()
        return "Huey consumer started with 2 thread" in logfile.read_text()

    wait_until(consuming, 30, "the worker's consumer")
    assert (Path(env["TMPDIR"]) / "pledge-role").read_text() == "worker\n"
    assert run(["healthcheck"], env, tmp_path).returncode == 0  # no HTTP in the worker: alive is healthy
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0, logfile.read_text()
    text = logfile.read_text()
    assert "Received SIGINT" in text and "Shutting down gracefully" in text, text


def test_other_arguments_are_the_pledge_command_line(env: dict[str, str], tmp_path: Path) -> None:
    version = run(["--version"], env, tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("pledge, version "), version
    ok = run(["validate", "--repo", str(ROOT / "examples" / "platform"), "--format", "json"], env, tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert '"conclusion": "success"' in ok.stdout
    bad = run(["validate", "--repo", str(tmp_path / "nowhere")], env, tmp_path)
    assert bad.returncode == 2 and "no such folder" in bad.stderr


def test_healthcheck_outside_the_web_role_is_healthy(env: dict[str, str], tmp_path: Path) -> None:
    assert not (Path(env["TMPDIR"]) / "pledge-role").exists()
    assert run(["healthcheck"], env, tmp_path).returncode == 0  # a one-off `pledge ...` container


def test_the_script_is_executable() -> None:
    assert os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
