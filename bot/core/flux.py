"""Flux feedback: the Provider and Alert to render, and notification-controller events checked, parsed and judged."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from bot.core.render import dump
from bot.core.signatures import sign, verify

FLUX_NAMESPACE = "flux-system"
KUSTOMIZATION_PREFIX = "pledge-"  # bot.core.layout names each environment's Kustomization pledge-<env>
_HEADER = b"# Written by Pledge from pledge.yaml. Do not edit.\n"
_REVISION = re.compile(r"(?:^|@|/)(?:sha1:)?([0-9a-f]{40})$")
MAX_MESSAGE = 1500

# The `feedback:` block proposed for pledge.yaml (a property of bot.core.platform.SCHEMA).


def flux_feedback_files(env: str, url: str, secret_name: str) -> dict[str, bytes]:
    """clusters/<env>/pledge-provider.yaml (generic-hmac to Pledge's /flux) and pledge-alert.yaml (every
    event of the env's Kustomization). The Secret (key `token`) is created out of band, never committed."""
    name = f"{KUSTOMIZATION_PREFIX}{env}"
    provider = {
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
        "kind": "Provider",
        "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
        "spec": {"type": "generic-hmac", "address": url, "secretRef": {"name": secret_name}},
    }
    alert = {
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
        "kind": "Alert",
        "metadata": {"name": name, "namespace": FLUX_NAMESPACE},
        "spec": {
            "providerRef": {"name": name},
            "eventSeverity": "info",
            "eventSources": [{"kind": "Kustomization", "name": name, "namespace": FLUX_NAMESPACE}],
        },
    }
    return {f"clusters/{env}/pledge-provider.yaml": _HEADER + dump(provider),
            f"clusters/{env}/pledge-alert.yaml": _HEADER + dump(alert)}


def signature(secret: str | bytes, body: bytes) -> str:
    """The X-Signature notification-controller sends (its generic-hmac provider signs with SHA-256)."""
    return sign(secret, body)


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """X-Signature: <sha256|sha384|sha512>=<hex HMAC of the raw body>, compared in constant time."""
    return verify(secret, body, header, ("sha256", "sha384", "sha512"))


class EventError(ValueError):
    """The body is not a notification-controller event (answer 400)."""


@dataclass(frozen=True)
class FluxEvent:
    """One notification-controller Event (fluxcd/pkg apis/event/v1beta1), as a generic provider posts it."""

    kind: str
    name: str
    namespace: str
    severity: str  # info | error (trace events are not forwarded)
    timestamp: datetime
    message: str
    reason: str
    revision: str | None
    origin_revision: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    controller: str = ""

    @property
    def sha(self) -> str | None:
        """The git commit Flux reports: originRevision's (an artifact generator) else revision's."""
        return revision_sha(self.origin_revision) or revision_sha(self.revision)

    @property
    def env(self) -> str | None:
        """The Pledge environment whose Kustomization sent this, or None for any other object."""
        if self.kind != "Kustomization" or self.namespace != FLUX_NAMESPACE:
            return None
        if not self.name.startswith(KUSTOMIZATION_PREFIX) or self.name == KUSTOMIZATION_PREFIX:
            return None
        return self.name[len(KUSTOMIZATION_PREFIX):]

    @property
    def succeeded(self) -> bool:
        """Applied and healthy: the Ready event kustomize-controller sends once a revision reconciled."""
        return self.severity == "info" and (self.reason == "ReconciliationSucceeded"
                                            or self.metadata.get("commit_status") == "update")

    @property
    def failed(self) -> bool:
        return self.severity == "error"


def revision_sha(revision: str | None) -> str | None:
    """`main@sha1:<40 hex>` (also `sha1:<hex>`, a bare sha and the old `main/<hex>`) -> the sha."""
    match = _REVISION.search(revision or "")
    return match[1] if match else None


def parse_event(body: bytes | str) -> FluxEvent:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventError(f"body is not JSON: {exc}") from None
    except RecursionError:  # nesting deeper than the interpreter's stack: malformed, not a crash
        raise EventError("body is not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise EventError("body is not a JSON object")
    obj = data.get("involvedObject")
    if not isinstance(obj, dict) or not all(isinstance(obj.get(k), str) for k in ("kind", "name")):
        raise EventError("involvedObject with kind and name is required")
    for key in ("severity", "timestamp", "reason", "message"):
        if not isinstance(data.get(key), str):
            raise EventError(f"{key} is required and must be a string")
    try:
        when = datetime.fromisoformat(data["timestamp"])
    except ValueError:
        raise EventError(f"timestamp {data['timestamp']!r} is not RFC 3339") from None
    raw_meta = data.get("metadata") or {}
    if not isinstance(raw_meta, dict):
        raise EventError("metadata must be an object of strings")
    # notification-controller strips these prefixes; accept them too, as events relayed otherwise keep them
    meta = {k.split("/", 1)[1] if k.startswith(("kustomize.toolkit.fluxcd.io/", "event.toolkit.fluxcd.io/"))
            else k: str(v) for k, v in raw_meta.items()}
    return FluxEvent(
        kind=obj["kind"], name=obj["name"], namespace=str(obj.get("namespace", "")),
        severity=data["severity"], timestamp=when if when.tzinfo else when.replace(tzinfo=UTC),
        message=data["message"], reason=data["reason"], revision=meta.get("revision"),
        origin_revision=meta.get("originRevision"), metadata=meta,
        controller=str(data.get("reportingController", "")),
    )


@dataclass(frozen=True)
class PendingRender:
    """A render commit (or the tip that already held a merge's render) awaiting Flux in one environment."""

    sha: str
    env: str
    pr: int | None
    requests: tuple[str, ...] = ()
    state: Literal["pending", "failed", "applied"] = "pending"
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class Outcome:
    """What an event means for one pending render; `text` is what the PR is told."""

    render: PendingRender
    status: Literal["applied", "failed"]
    at: datetime
    reason: str
    message: str
    revision: str
    text: str


def decide(event: FluxEvent, pending: Iterable[PendingRender],
           is_ancestor: Callable[[str, str], bool]) -> list[Outcome]:
    """The renders this event settles. Flux skips intermediate commits and may drop events, so a render
    is covered when its commit is an ancestor of (or is) the reported one; an error already reported
    with the same reason and message is not reported again; an applied render stays applied."""
    env, sha = event.env, event.sha
    if env is None or sha is None or not (event.succeeded or event.failed):
        return []
    out: list[Outcome] = []
    for render in pending:
        if render.env != env or render.state == "applied":
            continue
        if event.failed and (render.state, render.reason, render.message) == ("failed", event.reason,
                                                                               _clip(event.message)):
            continue
        if render.sha != sha and not is_ancestor(render.sha, sha):
            continue
        status: Literal["applied", "failed"] = "applied" if event.succeeded else "failed"
        out.append(Outcome(render, status, event.timestamp, event.reason, _clip(event.message),
                           event.revision or sha, describe(event, status)))
    return out


def describe(event: FluxEvent, status: str) -> str:
    when = event.timestamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    rev = event.revision or event.sha or "?"
    if status == "applied":
        return f"Applied in {event.env} at {when} (Flux revision `{rev}`)."
    return (f"Not applied in {event.env}: Flux reported **{event.reason}** at {when} for `{rev}`:\n\n"
            + "\n".join(f"> {line}" for line in _clip(event.message).splitlines() or [""]))


def comments(outcomes: Sequence[Outcome]) -> dict[int, str]:
    """One comment body per pull request, listing what happened in each environment."""
    by_pr: dict[int, list[str]] = {}
    for o in outcomes:
        if o.render.pr is not None and o.text not in by_pr.get(o.render.pr, []):
            by_pr.setdefault(o.render.pr, []).append(o.text)
    return {pr: "\n\n".join(texts) for pr, texts in by_pr.items()}


def _clip(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " …"
