"""The Flask app: POST /webhook (HMAC first, then persist and answer 202), /healthz, /readyz."""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from bot.app import routes as router
from bot.app.events import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, Event, MalformedDelivery, verify_signature
from bot.app.flux_intake import add_flux_route
from bot.app.intake import answer, read_body
from bot.app.queue import Queue
from bot.app.settings import MAX_PAYLOAD_BYTES, Settings, load_or_exit

log = logging.getLogger("pledge.web")


def create_app(settings: Settings | None = None, queue: Queue | None = None) -> Flask:
    """The WSGI app. Without arguments it reads PLEDGE_* (exits with a clear message when they are wrong)
    and opens the queue named by PLEDGE_QUEUE; gunicorn calls it once per worker process."""
    if settings is None:
        settings = load_or_exit()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    the_queue = queue if queue is not None else Queue.from_settings(settings)
    secret = settings.webhook_secret
    app = Flask("pledge")
    app.config["MAX_CONTENT_LENGTH"] = MAX_PAYLOAD_BYTES
    app.extensions["pledge"] = {"settings": settings, "queue": the_queue}

    @app.post("/webhook")
    def webhook() -> tuple[Response, int]:
        body = read_body(MAX_PAYLOAD_BYTES, "payload")
        if not isinstance(body, bytes):
            return body
        if not verify_signature(secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning("delivery %s: missing or bad signature", request.headers.get(DELIVERY_HEADER, "?"))
            return answer(401, error="missing or bad X-Hub-Signature-256")
        try:
            text = body.decode("utf-8")
            event = Event.parse(request.headers.get(EVENT_HEADER), request.headers.get(DELIVERY_HEADER), text)
        except (MalformedDelivery, UnicodeDecodeError) as exc:
            return answer(400, error=str(exc))
        if event.name == "ping":
            log.info("ping from hook %s: %s", event.payload.get("hook_id"), event.payload.get("zen"))
            return answer(200, status="pong")
        if event.name in router.INTERNAL_EVENTS or router.match(event) is None:
            reason = router.ignore_reason(event) or "not an event Pledge handles"
            return answer(200, status="ignored", reason=reason)
        try:
            fresh = the_queue.submit(event, text)
        except Exception:
            log.exception("%s: could not queue", event.describe())
            return answer(503, error="queue unavailable; redeliver later")
        if not fresh:
            log.info("%s: already received; acknowledged, not queued again", event.describe())
            return answer(200, status="duplicate")
        return answer(202, status="queued")

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        return answer(200, status="ok")

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        problems = []
        try:
            the_queue.ping()
        except Exception as exc:
            problems.append(f"queue unreachable: {type(exc).__name__}")
        if not settings.private_key:
            problems.append("private key not loaded")
        if problems:
            return answer(503, status="not ready", problems=problems)
        return answer(200, status="ready", queue=settings.queue_kind)

    add_flux_route(app, settings, the_queue)  # POST /flux/<owner>/<repo> (docs/publishing.md)
    return app
