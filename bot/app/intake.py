"""What both HTTP intakes (GitHub's /webhook, Flux's /flux) share: JSON answers and a body read within a limit."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

Answer = tuple[Response, int]


def answer(code: int, **body: Any) -> Answer:
    return jsonify(body), code


def read_body(limit: int, what: str) -> bytes | Answer:
    """The raw body, or the 413 answer when it is over `limit` bytes (announced or actual)."""
    too_large = answer(413, error=f"{what} over {limit // (1024 * 1024)} MB")
    if (request.content_length or 0) > limit:
        return too_large
    try:
        body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return too_large
    return too_large if len(body) > limit else body
