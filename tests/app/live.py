"""Real processes on loopback for end-to-end tests and benchmarks: gunicorn serving create_app() and
`python -m bot.app.worker`, configured only through PLEDGE_* like in production."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.app.events import signature

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class LiveApp:
    """gunicorn + worker processes; logs go to files under `logs` (read them when a test fails)."""

    def __init__(self, env: dict[str, str], logs: Path, *, app: str = "bot.app.web:create_app()",
                 gunicorn_args: tuple[str, ...] = (), worker_args: tuple[str, ...] = ()) -> None:
        self.env = env
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.app = app
        self.gunicorn_args = gunicorn_args
        self.worker_args = worker_args
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.secret = env["PLEDGE_WEBHOOK_SECRET"]

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(args, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    def start_web(self) -> None:
        self.web = self._spawn([sys.executable, "-m", "gunicorn", "-c", "python:bot.app.gunicorn_conf",
                                "--bind", f"127.0.0.1:{self.port}",
                                *self.gunicorn_args, self.app], "gunicorn")
        wait_until(self._healthy, 30, "gunicorn /healthz")

    def start_worker(self) -> subprocess.Popen[bytes]:
        proc = self._spawn([sys.executable, "-m", "bot.app.worker", *self.worker_args], f"worker{len(self.workers)}")
        self.workers.append(proc)
        return proc

    def kill_worker(self, proc: subprocess.Popen[bytes]) -> None:
        proc.kill()
        proc.wait(10)

    def _healthy(self) -> bool:
        assert self.web is not None
        if self.web.poll() is not None:
            raise AssertionError(f"gunicorn exited: {(self.logs / 'gunicorn.log').read_text()[-3000:]}")
        try:
            return self.request("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                conn: http.client.HTTPConnection | None = None) -> tuple[int, Any]:
        own = conn is None
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path, body=body, headers=headers or {})
            resp = c.getresponse()
            data = resp.read()
            return resp.status, json.loads(data) if data else None
        finally:
            if own:
                c.close()

    def deliver(self, event: str, payload: dict[str, Any] | bytes, delivery: str,
                conn: http.client.HTTPConnection | None = None, path: str = "/webhook") -> tuple[int, Any]:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "Content-Type": "application/json",
                   "X-Hub-Signature-256": signature(self.secret, body), "User-Agent": "GitHub-Hookshot/e2e"}
        return self.request("POST", path, body, headers, conn)

    def logs_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def close(self) -> None:
        procs = [p for p in [self.web, *self.workers] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if proc is self.web else signal.SIGTERM)  # both: stop now
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self) -> LiveApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
