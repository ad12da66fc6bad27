"""`pledge serve`: the web app and an in-process worker on one queue, for trying Pledge on one machine."""

from __future__ import annotations

import logging
import signal

from bot.app.settings import load_or_exit
from bot.app.web import create_app
from bot.app.worker import build_worker_queue

log = logging.getLogger("pledge.serve")


def serve(host: str = "127.0.0.1", port: int = 8080) -> None:
    """`pledge serve`: Flask's development server plus an in-process worker (threads) on the same queue.
    Production runs gunicorn and `python -m bot.app.worker` instead (docs/app.md)."""
    settings = load_or_exit()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    queue = build_worker_queue(settings)
    consumer = queue.consumer(settings.workers)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    consumer.start()
    for sig, handler in saved.items():  # Ctrl-C stops the dev server; the consumer is stopped below
        signal.signal(sig, handler)
    log.info("pledge serve on http://%s:%s with %d worker thread(s): %s", host, port, settings.workers,
             settings.describe())
    try:
        create_app(settings, queue).run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        consumer.stop(graceful=True)
