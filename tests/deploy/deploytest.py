"""Helpers for the shipping artefacts' tests: paths, tools from the test virtualenv, loopback ports."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin/: hadolint, shellcheck, gunicorn, pledge
DEPLOY = ROOT / "deploy"


def tool(name: str) -> str:
    """A command-line tool the test extras install (pyproject.toml [test]); a missing one fails the test."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' brings it (see pyproject.toml)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# ------------------------------------------------------------------ deploy/ built with kubectl kustomize

K8S_VERSION = "1.33"
SECRET = "pledge"
SECRET_KEYS = {"app-id", "webhook-secret", "flux-secret", "private-key.pem", "queue-url"}


@cache
def build(target: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not on PATH: .ci/run installs it; it builds deploy/ with `kubectl kustomize`")
    proc = subprocess.run([kubectl, "kustomize", str(DEPLOY / target)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return tuple(doc for doc in yaml.safe_load_all(proc.stdout) if doc)


def of_kind(objs: tuple[dict[str, Any], ...], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == kind]


def pod_specs(objs: tuple[dict[str, Any], ...]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, its pod template) for every Deployment."""
    return [(d, d["spec"]["template"]) for d in of_kind(objs, "Deployment")]


def containers(objs: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [c for _d, t in pod_specs(objs) for c in t["spec"]["containers"]]
