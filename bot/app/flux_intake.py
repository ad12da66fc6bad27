"""POST /flux/<owner>/<repo>: Flux notification-controller events, HMAC first, then queued per repository."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass

from flask import Flask, Response, request

from bot.app.events import Event
from bot.app.intake import answer, read_body
from bot.app.queue import Queue
from bot.app.settings import Settings
from bot.app.triggers import FLUX_EVENT

log = logging.getLogger("pledge.web")

FLUX_SIGNATURE_HEADER = "X-Signature"
MAX_FLUX_BYTES = 1024 * 1024  # an Event is a few KB; Flux caps messages well below this
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


@dataclass(frozen=True)
class FluxDelivery(Event):
    """A Flux event in the queue: serialized per repository (`flux:<owner>/<repo>`), apart from PR work."""

    @property
    def key(self) -> str:
        return f"flux:{self.repo}"


def flux_delivery_id(repo: str, body: bytes) -> str:
    """The same event posted twice (a retried POST) is one delivery; Flux's repeats differ in timestamp."""
    return "flux-" + hashlib.sha256(repo.encode() + b"\0" + body).hexdigest()[:40]


def add_flux_route(app: Flask, settings: Settings, queue: Queue) -> None:
    """Register the endpoint. Without PLEDGE_FLUX_SECRET it answers 404 (feedback is off)."""

    @app.post("/flux/<owner>/<name>")
    def flux(owner: str, name: str) -> tuple[Response, int]:
        if not settings.flux_secret:
            return answer(404, error="Flux feedback is off: set PLEDGE_FLUX_SECRET")
        body = read_body(MAX_FLUX_BYTES, "event")
        if not isinstance(body, bytes):
            return body
        from bot.core.flux import EventError, parse_event, verify_signature  # the core loads on the first event only

        if not verify_signature(settings.flux_secret, body, request.headers.get(FLUX_SIGNATURE_HEADER)):
            log.warning("flux event for %s/%s: missing or bad %s", owner, name, FLUX_SIGNATURE_HEADER)
            return answer(401, error=f"missing or bad {FLUX_SIGNATURE_HEADER}")
        if not (_NAME.match(owner) and _NAME.match(name)) or ".." in (owner, name):
            return answer(404, error="not a repository name")
        try:
            text = body.decode("utf-8")
            event = parse_event(text)
        except (EventError, UnicodeDecodeError) as exc:
            return answer(400, error=str(exc))
        if event.env is None or event.sha is None or not (event.succeeded or event.failed):
            return answer(200, status="ignored", reason="not a success or error of a pledge-<env> Kustomization")
        repo = f"{owner}/{name}"
        payload = {"repository": {"full_name": repo}, "body": text}
        delivery = FluxDelivery(FLUX_EVENT, flux_delivery_id(repo, body), payload)
        try:
            fresh = queue.submit(delivery, json.dumps(payload))
        except Exception:
            log.exception("%s: could not queue", delivery.describe())
            return answer(503, error="queue unavailable; Flux retries")
        if not fresh:
            return answer(200, status="duplicate")
        return answer(202, status="queued")
