"""kyverno-json `scan` text output, and Pledge's documented JSON output of rule results."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.policy.gofmt import go_sprint
from bot.core.policy.model import STATUS_ERROR, STATUS_FAIL, RuleResult


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def result_lines(result: RuleResult) -> list[str]:
    """The lines kyverno-json prints for one rule result."""
    if result.status == STATUS_ERROR:
        status = f"ERROR: {result.error}"
    elif result.status == STATUS_FAIL:
        status = "FAILED"
    else:
        status = "PASSED"
    ident = f", ID={result.identifier}" if result.identifier else ""
    lines = [f"- {status} (POLICY={result.policy}, RULE={result.rule}{ident})"]
    for violation in result.violations:
        check = f"(CHECK={violation.check})"
        lines.append(" -> " + (f"{violation.message} {check}" if violation.message is not None else check))
        lines.extend(f"  -> {error.detail} (PATH={error.path})" for error in violation.errors)
    return lines


def format_text(results: Sequence[RuleResult], *, policies: int | Sequence[Any] | None = None,
                resources: int | None = None, bindings: Mapping[str, Any] | None = None,
                header: bool = True) -> str:
    """kyverno-json's text report. `policies`/`resources` feed the "Running ( ... )" line (inferred when
    omitted); `bindings` adds the "Loading bindings" block; header=False prints only the result lines."""
    lines: list[str] = []
    if header:
        if policies is None:
            n_policies = len(dict.fromkeys(r.policy for r in results))
        else:
            n_policies = policies if isinstance(policies, int) else len(policies)
        n_resources = resources if resources is not None else max((r.resource + 1 for r in results), default=1)
        lines.append("Loading policies ...")
        if bindings is not None:
            lines.append("Loading bindings ...")
            lines.extend(f"- {key} -> {go_sprint(bindings[key])}" for key in sorted(bindings))
        lines += ["Loading payload ...", "Pre processing ...",
                  f"Running ( evaluating {_plural(n_resources, 'resource', 'resources')} against "
                  f"{_plural(n_policies, 'policy', 'policies')} ) ..."]
    for result in results:
        lines.extend(result_lines(result))
    if header:
        lines.append("Done")
    return "\n".join(lines) + "\n" if lines else ""


def result_data(result: RuleResult) -> dict[str, Any]:
    """One rule result as JSON-ready data (the shape documented in docs/policies.md)."""
    return {
        "policy": result.policy,
        "rule": result.rule,
        "resource": result.resource,
        "identifier": result.identifier,
        "status": result.status,
        "error": result.error,
        "violations": [
            {
                "check": v.check,
                "message": v.message,
                "errors": [
                    {"type": e.type, "path": e.path, "detail": e.detail,
                     "location": list(e.location) if e.location is not None else None}
                    for e in v.errors
                ],
            }
            for v in result.violations
        ],
    }


def format_json(results: Sequence[RuleResult]) -> str:
    """`{"results": [...]}` with every rule result (see docs/policies.md, "JSON output")."""
    return json.dumps({"results": [result_data(r) for r in results]}, indent=2, ensure_ascii=False) + "\n"
