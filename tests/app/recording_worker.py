"""A worker process for queue tests: Huey's consumer on PLEDGE_QUEUE with a processor that appends each
delivery to a log file (and, once, kills its own process in the middle of a delivery when asked)."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path

from bot.app.events import Event
from bot.app.queue import Queue
from bot.app.settings import Settings


def main() -> None:
    log = Path(sys.argv[1])
    crash_on = sys.argv[2] if len(sys.argv) > 2 else ""
    delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    marker = log.with_suffix(".crashed")
    settings = Settings.from_env()
    queue = Queue.from_settings(settings, retry_delays=(0.1,), lock_ttl=60)

    def record(event: Event) -> None:
        if event.delivery_id == crash_on and not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(9)  # killed mid-delivery: nothing after this runs
        time.sleep(delay)
        with open(log, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            fh.write(f"{os.getpid()} {event.key} {event.delivery_id}\n")

    queue.processor = record
    queue.consumer(4).run()


if __name__ == "__main__":
    main()
