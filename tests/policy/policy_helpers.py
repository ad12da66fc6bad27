"""Helpers for the policy engine tests (imported by the test modules): build policies from Python data."""

from __future__ import annotations

from typing import Any

import yaml

from bot.core.policy import Policy, RuleResult, load_policies


def doc(rules: list[dict[str, Any]], name: str = "test", **spec: Any) -> str:
    return yaml.safe_dump({"apiVersion": "json.kyverno.io/v1alpha1", "kind": "ValidatingPolicy",
                           "metadata": {"name": name}, "spec": {**spec, "rules": rules}}, sort_keys=False)


def policy(rules: list[dict[str, Any]], **spec: Any) -> Policy:
    return load_policies(doc(rules, **spec), "test.yaml")[0]


def check_rule(check: Any, **extra: Any) -> dict[str, Any]:
    return {"name": "r", "assert": {"all": [{"check": check}]}, **extra}


def run(check: Any, payload: Any, bindings: dict[str, Any] | None = None, **extra: Any) -> RuleResult:
    """Evaluate one rule with one `assert.all` check; the rule must apply."""
    results = policy([check_rule(check, **extra)]).evaluate(payload, bindings)
    assert len(results) == 1
    return results[0]


def errors(result: RuleResult) -> list[tuple[str, str]]:
    return [(e.path, e.detail) for v in result.violations for e in v.errors]
