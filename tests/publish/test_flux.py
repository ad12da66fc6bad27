"""Flux feedback: Provider/Alert against the Flux CRDs, signatures, notification-controller events, coverage."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.core.flux import (
    EventError,
    FluxEvent,
    PendingRender,
    comments,
    decide,
    flux_feedback_files,
    parse_event,
    revision_sha,
    signature,
    verify_signature,
)
from bot.core.layout import owned
from bot.core.yamlfile import load

CRDS = Path(__file__).parent / "crds"
SHA = "0123456789abcdef0123456789abcdef01234567"


def strict(schema: Any) -> Any:
    """The CRD schema with additionalProperties: false wherever properties are listed (misspellings fail)."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return schema


def crd_validator(kind: str) -> jsonschema.Draft7Validator:
    crd = yaml.safe_load((CRDS / f"notification.toolkit.fluxcd.io_{kind}.yaml").read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta3" and v["served"])
    return jsonschema.Draft7Validator(strict(version["schema"]["openAPIV3Schema"]))


def test_provider_and_alert_validate_against_the_flux_crds() -> None:
    files = flux_feedback_files("dev", "https://pledge.example.com/flux", "pledge-flux-hmac")
    assert sorted(files) == ["clusters/dev/pledge-alert.yaml", "clusters/dev/pledge-provider.yaml"]
    assert all(owned(p) for p in files)
    provider = load(files["clusters/dev/pledge-provider.yaml"]).data
    alert = load(files["clusters/dev/pledge-alert.yaml"]).data
    assert list(crd_validator("providers").iter_errors(provider)) == []
    assert list(crd_validator("alerts").iter_errors(alert)) == []
    assert provider["spec"] == {"type": "generic-hmac", "address": "https://pledge.example.com/flux",
                                "secretRef": {"name": "pledge-flux-hmac"}}
    assert alert["spec"]["providerRef"] == {"name": provider["metadata"]["name"]}
    assert alert["spec"]["eventSources"] == [{"kind": "Kustomization", "name": "pledge-dev",
                                              "namespace": "flux-system"}]
    assert files == flux_feedback_files("dev", "https://pledge.example.com/flux", "pledge-flux-hmac")


def test_the_strict_crd_check_catches_mistakes() -> None:
    provider = load(flux_feedback_files("dev", "https://x", "s")["clusters/dev/pledge-provider.yaml"]).data
    provider["spec"]["tpye"] = provider["spec"].pop("type")
    assert list(crd_validator("providers").iter_errors(provider))
    alert = load(flux_feedback_files("dev", "https://x", "s")["clusters/dev/pledge-alert.yaml"]).data
    alert["spec"]["eventSeverity"] = "warning"
    assert list(crd_validator("alerts").iter_errors(alert))


def event(severity: str = "info", reason: str = "ReconciliationSucceeded", sha: str = SHA, env: str = "dev",
          message: str = "Reconciliation finished in 1.2s, next run in 10m0s",
          at: str = "2026-11-26T22:53:02Z", **meta: str) -> dict[str, Any]:
    """The JSON a generic(-hmac) Provider posts: fluxcd/pkg apis/event/v1beta1 Event, metadata as
    notification-controller forwards it (kustomize.toolkit.fluxcd.io/ prefix stripped)."""
    metadata = {"revision": f"main@sha1:{sha}", **meta}
    if severity == "info" and reason == "ReconciliationSucceeded":
        metadata.setdefault("commit_status", "update")
    return {
        "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                           "name": f"pledge-{env}", "namespace": "flux-system",
                           "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632", "resourceVersion": "4321"},
        "severity": severity,
        "timestamp": at,
        "message": message,
        "reason": reason,
        "metadata": metadata,
        "reportingController": "kustomize-controller",
        "reportingInstance": "kustomize-controller-7f9b8c6d5-x2x9q",
    }


def body(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def test_signatures_are_checked_on_the_raw_body() -> None:
    raw = body(event())
    good = signature("s3cret", raw)
    assert good.startswith("sha256=") and verify_signature("s3cret", raw, good)
    assert verify_signature(b"s3cret", raw, good.upper().replace("SHA256=", "sha256="))
    assert not verify_signature("s3cret", raw + b" ", good)
    assert not verify_signature("other", raw, good)
    assert not verify_signature("s3cret", raw, None)
    assert not verify_signature("s3cret", raw, "")
    assert not verify_signature("s3cret", raw, good.replace("sha256=", "md5="))
    assert not verify_signature("s3cret", raw, good.replace("sha256=", ""))
    assert not verify_signature("", raw, signature("", raw))  # no secret configured: nothing passes


def test_events_parse_into_typed_values() -> None:
    ev = parse_event(body(event(originRevision=f"main@sha1:{'f' * 40}")))
    assert isinstance(ev, FluxEvent)
    assert (ev.kind, ev.name, ev.namespace, ev.env) == ("Kustomization", "pledge-dev", "flux-system", "dev")
    assert ev.timestamp == datetime(2026, 11, 26, 22, 53, 2, tzinfo=UTC)
    assert ev.sha == "f" * 40 and revision_sha(ev.revision) == SHA
    assert ev.succeeded and not ev.failed and ev.controller == "kustomize-controller"
    prefixed = event()
    prefixed["metadata"] = {"kustomize.toolkit.fluxcd.io/revision": f"main@sha1:{SHA}"}
    assert parse_event(body(prefixed)).sha == SHA


@pytest.mark.parametrize("raw, why", [
    (b"not json", "not JSON"),
    (b"[]", "not a JSON object"),
    (body({**event(), "involvedObject": {"kind": "Kustomization"}}), "involvedObject"),
    (body({k: v for k, v in event().items() if k != "severity"}), "severity"),
    (body({**event(), "timestamp": "yesterday"}), "RFC 3339"),
    (body({**event(), "metadata": ["x"]}), "metadata"),
])
def test_malformed_events_are_clear_errors(raw: bytes, why: str) -> None:
    with pytest.raises(EventError, match=why):
        parse_event(raw)


@pytest.mark.parametrize("rev, sha", [
    (f"main@sha1:{SHA}", SHA), (f"sha1:{SHA}", SHA), (SHA, SHA), (f"main/{SHA}", SHA),
    ("latest@sha256:" + "a" * 64, None), ("v1.2.3@sha1:abc", None), (None, None),
])
def test_revisions(rev: str | None, sha: str | None) -> None:
    assert revision_sha(rev) == sha


# History of a branch: r1 <- r2 <- r3 (renders); Flux may report only r3.
R1, R2, R3 = "1" * 40, "2" * 40, "3" * 40
ORDER = [R1, R2, R3]


def is_ancestor(a: str, b: str) -> bool:
    return a in ORDER and b in ORDER and ORDER.index(a) <= ORDER.index(b)


def pending(*shas: str, env: str = "dev", **state: Any) -> list[PendingRender]:
    return [PendingRender(s, env, n, (f"requests/{env}/payments/r{n}.yaml",), **state)
            for n, s in enumerate(shas, 1)]


def test_a_success_covers_skipped_intermediate_renders() -> None:
    out = decide(parse_event(body(event(sha=R3))), pending(R1, R2, R3), is_ancestor)
    assert [(o.render.sha, o.status) for o in out] == [(R1, "applied"), (R2, "applied"), (R3, "applied")]
    assert out[0].text == f"Applied in dev at 2026-11-26 22:53:02 UTC (Flux revision `main@sha1:{R3}`)."
    out = decide(parse_event(body(event(sha=R2))), pending(R1, R2, R3), is_ancestor)
    assert [o.render.sha for o in out] == [R1, R2]  # r3 is not in the applied revision yet


def test_other_objects_environments_and_progress_events_settle_nothing() -> None:
    renders = pending(R1)
    progressing = event(reason="Progressing", message="ConfigMap/payments/cache-r1 created")
    other = event()
    other["involvedObject"]["name"] = "flux-system"
    source = event()
    source["involvedObject"]["kind"] = "GitRepository"
    oci = event()
    oci["metadata"] = {"revision": "latest@sha256:" + "b" * 64}
    for ev in (progressing, other, source, oci, event(env="prod")):
        assert decide(parse_event(body(ev)), renders, is_ancestor) == []
    assert decide(parse_event(body(event())), pending(R1, env="prod"), is_ancestor) == []


def test_repeated_errors_are_reported_once_and_a_later_success_clears_them() -> None:
    failing = event("error", "HealthCheckFailed", sha=R2,
                    message="health check failed after 5m0s: timeout waiting for: "
                            "[ConfigMap/payments/cache-r2 status: 'InProgress']")
    out = decide(parse_event(body(failing)), pending(R1, R2, R3), is_ancestor)
    assert [(o.render.sha, o.status, o.reason) for o in out] == [(R1, "failed", "HealthCheckFailed"),
                                                                 (R2, "failed", "HealthCheckFailed")]
    assert "**HealthCheckFailed**" in out[0].text and "> health check failed" in out[0].text
    after = [PendingRender(o.render.sha, "dev", o.render.pr, o.render.requests, "failed", o.reason, o.message)
             for o in out] + pending(R3)[0:1]
    assert decide(parse_event(body(failing)), after, is_ancestor) == []  # Flux repeats it: said once
    other = dict(failing, reason="BuildFailed", message="kustomize build failed: accumulating resources")
    assert len(decide(parse_event(body(other)), after, is_ancestor)) == 2  # a new reason is news
    fixed = decide(parse_event(body(event(sha=R3, at="2026-11-26T23:10:00Z"))), after, is_ancestor)
    assert {(o.render.sha, o.status) for o in fixed} == {(R1, "applied"), (R2, "applied"), (R3, "applied")}
    assert decide(parse_event(body(event(sha=R3))), pending(R1, state="applied"), is_ancestor) == []


def test_one_comment_per_pr() -> None:
    renders = [PendingRender(R1, "dev", 7, ("a",)), PendingRender(R2, "dev", 7, ("b",)),
               PendingRender(R2, "dev", None, ("c",)), PendingRender(R3, "dev", 8, ("d",))]
    out = decide(parse_event(body(event(sha=R3))), renders, is_ancestor)
    texts = comments(out)
    assert sorted(texts) == [7, 8] and texts[7].count("Applied in dev") == 1


def test_flux_and_history_import_no_adapter() -> None:
    import subprocess
    import sys
    code = ("import sys, bot.core.flux, bot.adapters.store.history; "
            "bad = {'git', 'github', 'flask'} & set(sys.modules); "
            "print(sorted(bad)); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
