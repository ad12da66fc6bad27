"""Pledge's policy engine: a Python port of kyverno-json's `json.kyverno.io/v1alpha1` ValidatingPolicy."""

from bot.core.policy.celexpr import HAVE_CEL
from bot.core.policy.engine import Policy, Rule, ScanError, scan, scan_resources
from bot.core.policy.load import load_policies, load_policy_paths
from bot.core.policy.model import FieldError, PolicyLoadError, RuleResult, Violation
from bot.core.policy.output import format_json, format_text
from bot.core.policy.yamlsafe import load_payload

__all__ = [
    "HAVE_CEL",
    "FieldError",
    "Policy",
    "PolicyLoadError",
    "Rule",
    "RuleResult",
    "ScanError",
    "Violation",
    "format_json",
    "format_text",
    "load_payload",
    "load_policies",
    "load_policy_paths",
    "scan",
    "scan_resources",
]
