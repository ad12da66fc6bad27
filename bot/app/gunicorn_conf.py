"""gunicorn settings: `gunicorn -c python:bot.app.gunicorn_conf "bot.app.web:create_app()"`."""

from __future__ import annotations

import os
from typing import Any

from bot.app.settings import load_or_exit

bind = "0.0.0.0:8080"
# 2 processes per core x 4 threads: measured best for ack latency on 2 cores (benchmarks/bench_app_latency.py);
# intake is short CPU work plus one SQLite/Redis write, so more processes beat more threads (the GIL).
workers = max(2, 2 * (os.cpu_count() or 1))
worker_class = "gthread"
threads = 4
timeout = 30


def on_starting(server: Any) -> None:
    """Check PLEDGE_* in the master before forking: one clear message and exit 2 instead of boot loops."""
    load_or_exit()
