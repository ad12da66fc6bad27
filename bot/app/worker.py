"""The worker process: `python -m bot.app.worker` runs Huey's consumer on PLEDGE_QUEUE with the router."""

from __future__ import annotations

import argparse
import logging

from bot.app.context import Context
from bot.app.dispatch import Dispatcher
from bot.app.queue import Queue
from bot.app.settings import Settings, load_or_exit

log = logging.getLogger("pledge.worker")


def build_worker_queue(settings: Settings) -> Queue:
    """The queue with its processor: route each delivery to its handler."""
    queue = Queue.from_settings(settings)
    queue.processor = Dispatcher(Context.from_settings(settings, queue.journal))
    return queue


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.app.worker",
        description="Process queued GitHub deliveries (configuration: PLEDGE_* variables, see docs/app.md).",
    )
    parser.add_argument("--workers", type=int, default=None, help="worker threads (default: PLEDGE_WORKERS)")
    args = parser.parse_args(argv)
    settings = load_or_exit()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    workers = args.workers or settings.workers
    queue = build_worker_queue(settings)
    log.info("worker starting with %d thread(s): %s", workers, settings.describe())
    queue.consumer(workers).run()


if __name__ == "__main__":
    main()
