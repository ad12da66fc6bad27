"""Webhook deliveries as data: signature check (before any parsing) and the Event the router sees."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.signatures import sign, verify

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
EXTERNAL_ID_PREFIX = "pledge:pr="  # check runs carry their PR number, so a re-run works for forks too


class MalformedDelivery(ValueError):
    """The body is not a JSON object, or a required header is missing."""


def signature(secret: str | bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends: sha256= and the hex HMAC-SHA256 of the raw body."""
    return sign(secret, body)


def verify_signature(secret: str | bytes, body: bytes, header: str | None) -> bool:
    """Constant-time check of X-Hub-Signature-256 against the raw body (GitHub signs with SHA-256 only)."""
    return verify(secret, body, header)


@dataclass(frozen=True)
class Event:
    """One delivery: the event name, GitHub's delivery id and the payload (a JSON object)."""

    name: str
    delivery_id: str
    payload: Mapping[str, Any]

    @classmethod
    def parse(cls, name: str | None, delivery_id: str | None, body: bytes | str) -> Event:
        if not name:
            raise MalformedDelivery(f"missing {EVENT_HEADER} header")
        if not delivery_id:
            raise MalformedDelivery(f"missing {DELIVERY_HEADER} header")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedDelivery(f"body is not JSON: {exc}") from None
        except RecursionError:  # nesting deeper than the interpreter's stack: malformed, not a crash
            raise MalformedDelivery("body is not JSON: nested too deeply") from None
        if not isinstance(payload, dict):
            raise MalformedDelivery("body is not a JSON object")
        return cls(name, delivery_id, payload)

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def repo(self) -> str | None:
        """owner/name of the repository the event is about."""
        repo = self.payload.get("repository")
        name = repo.get("full_name") if isinstance(repo, dict) else None
        return name if isinstance(name, str) else None

    @property
    def installation_id(self) -> int | None:
        inst = self.payload.get("installation")
        value = inst.get("id") if isinstance(inst, dict) else None
        return value if isinstance(value, int) else None

    @property
    def sender_login(self) -> str:
        sender = self.payload.get("sender")
        return str(sender.get("login", "")) if isinstance(sender, dict) else ""

    @property
    def sender_is_bot(self) -> bool:
        sender = self.payload.get("sender")
        kind = sender.get("type") if isinstance(sender, dict) else None
        return kind == "Bot" or self.sender_login.endswith("[bot]")

    @property
    def pr_number(self) -> int | None:
        """The pull request the event is about, when there is exactly one."""
        p = self.payload
        if self.name == "pull_request":
            number = p.get("number", _get(p, "pull_request", "number"))
            return number if isinstance(number, int) else None
        if self.name == "issue_comment":
            issue = p.get("issue")
            if isinstance(issue, dict) and issue.get("pull_request") and isinstance(issue.get("number"), int):
                return int(issue["number"])
            return None
        if self.name == "check_run":
            external = _get(p, "check_run", "external_id")
            if isinstance(external, str) and external.startswith(EXTERNAL_ID_PREFIX):
                tail = external.removeprefix(EXTERNAL_ID_PREFIX)
                if tail.isdigit():
                    return int(tail)
            return _single_pr(_get(p, "check_run", "pull_requests"))
        if self.name == "check_suite":
            return _single_pr(_get(p, "check_suite", "pull_requests"))
        return None

    @property
    def key(self) -> str:
        """What work is serialized on: one pull request, else the repository, else the installation."""
        number = self.pr_number
        if self.repo and number is not None:
            return f"{self.repo}#{number}"
        if self.repo:
            return self.repo
        return f"installation:{self.installation_id}"

    def describe(self) -> str:
        action = f".{self.action}" if self.action else ""
        return f"{self.name}{action} {self.key} (delivery {self.delivery_id})"


def _get(payload: Mapping[str, Any], *path: str) -> Any:
    node: Any = payload
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _single_pr(prs: Any) -> int | None:
    if isinstance(prs, list) and len(prs) == 1 and isinstance(prs[0], dict):
        number = prs[0].get("number")
        return number if isinstance(number, int) else None
    return None
