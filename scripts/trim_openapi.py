"""Trim GitHub's REST and webhook descriptions to what Pledge's GitHub App uses, for the tests.

Reads (read-only, from the shared research folder; never at test time):
  api.github.com.json    @octokit/openapi 23.0.2, generated/api.github.com.json
  webhook-schemas.json   @octokit/webhooks-schemas 7.6.1, schema.json
  webhook-examples.json  @octokit/webhooks-examples 7.6.1, api.github.com/index.json

Writes into tests/github/:
  openapi-subset.json          the operations in OPERATIONS with every component they reference
                               (request schemas and parameters whole; 2xx responses keep their examples,
                               which the fake server uses as response bodies; descriptions dropped)
  webhook-schemas-subset.json  the webhook definitions in WEBHOOKS and everything they reference
  payloads/<event>.<action>.json  the newest real example of each delivery in WEBHOOKS that validates
  LICENSE-octokit-MIT          the notice the artifacts are distributed under

Run: python scripts/trim_openapi.py [--source /work/shared/github] [--out tests/github]
Add an operation to OPERATIONS (or a delivery to WEBHOOKS) when the bot starts using it, then re-run.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema

# (method, path template) of every REST call the bot makes.
OPERATIONS: list[tuple[str, str]] = [
    ("post", "/app/installations/{installation_id}/access_tokens"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    # slash commands (issue 5): reactions, membership and role lookups, promotion pull requests
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("get", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    # merge publishing (issue 6): approvers from reviews when the approval flow recorded none; the render
    # PR's label (the render PR itself is POST /pulls above)
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    # pledge app create (issue 17): the manifest flow's code exchange (no authentication)
    ("post", "/app-manifests/{code}/conversions"),
    # pledge doctor (issue 17): the App (JWT), its webhook and deliveries, installations, the repository's
    # default branch and whether it requires the `pledge` check (rulesets, then classic protection)
    ("get", "/app"),
    ("get", "/app/hook/config"),
    ("get", "/app/hook/deliveries"),
    ("get", "/app/installations"),
    ("get", "/repos/{owner}/{repo}/installation"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/rules/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks"),
]

# Webhook definitions (named like in webhook-schemas.json) the tests send.
WEBHOOKS: list[str] = [
    "ping$event",
    "pull_request$opened",
    "pull_request$synchronize",
    "pull_request$reopened",
    "pull_request$closed",
    "pull_request$edited",
    "pull_request$labeled",
    "check_run$rerequested",
    "check_run$completed",
    "check_suite$rerequested",
    "issue_comment$created",
    "issue_comment$edited",
    "issue_comment$deleted",
    "check_run$requested_action",
    "installation$created",
    "installation$deleted",
    "installation_repositories$added",
    "push$event",
]

# Which example to prefer when several validate (default: the newest): a branch push with commits.
PREFER: dict[str, Any] = {
    "push$event": lambda e: str(e.get("ref", "")).startswith("refs/heads/") and bool(e.get("commits")),
}

ROOT = Path(__file__).resolve().parent.parent


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def _pointer(doc: Any, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _strip_descriptions(node: Any, in_properties: bool = False) -> Any:
    """Drop prose (`description`) but never a property that happens to be named description."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if not in_properties and key == "description" and isinstance(value, str):
                continue
            out[key] = _strip_descriptions(value, in_properties=(key == "properties" and not in_properties))
        return out
    if isinstance(node, list):
        return [_strip_descriptions(v) for v in node]
    return node


def _trim_responses(responses: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for code, response in responses.items():
        if not code.startswith("2"):
            continue
        response = dict(response)
        content = {}
        for media, body in response.get("content", {}).items():
            content[media] = {k: v for k, v in body.items() if k == "examples"}
        response["content"] = content
        response.pop("headers", None)
        kept[code] = response
    return kept


def trim_openapi(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for method, template in OPERATIONS:
        item = spec["paths"][template]
        op = dict(item[method])
        op["responses"] = _trim_responses(op["responses"])
        for key in ("x-github", "externalDocs", "tags", "summary"):
            op.pop(key, None)
        paths.setdefault(template, {})[method] = op
        if "parameters" in item:
            paths[template]["parameters"] = item["parameters"]
    subset: dict[str, Any] = {
        "openapi": spec["openapi"],
        "info": {
            "title": "Subset of " + spec["info"]["title"],
            "version": spec["info"]["version"],
            "x-source": "@octokit/openapi " + spec["info"]["version"] + " generated/api.github.com.json",
            "x-generated-by": "scripts/trim_openapi.py",
            "license": spec["info"].get("license", {"name": "MIT"}),
        },
        "paths": paths,
        "components": {},
    }
    pending = _refs(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        target = _pointer(spec, ref)
        _section, kind, name = ref[2:].split("/", 2)
        if kind == "responses":
            target = {k: v for k, v in target.items() if k != "content"} | {"content": {}}
        subset["components"].setdefault(kind, {})[name] = target
        pending |= _refs(target)
    subset["components"] = {k: dict(sorted(v.items())) for k, v in sorted(subset["components"].items())}
    return _strip_descriptions(subset)


def trim_webhook_schemas(schemas: dict[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    pending = {"#/definitions/" + name for name in WEBHOOKS}
    while pending:
        ref = pending.pop()
        name = ref.split("/", 2)[2]
        if name in defs:
            continue
        defs[name] = schemas["definitions"][name]
        pending |= {r for r in _refs(defs[name]) if r.startswith("#/definitions/")}
    return {
        "$schema": schemas["$schema"],
        "$comment": "Subset of @octokit/webhooks-schemas 7.6.1 schema.json (MIT), by scripts/trim_openapi.py",
        "definitions": dict(sorted(defs.items())),
    }


def pick_examples(examples: list[dict[str, Any]], schemas: dict[str, Any]) -> dict[str, Any]:
    """The newest real example of each wanted delivery that validates against its schema."""
    by_event = {e["name"]: e["examples"] for e in examples}
    picked: dict[str, Any] = {}
    for wanted in WEBHOOKS:
        event, action = wanted.split("$")
        validator = jsonschema.Draft7Validator({"$ref": "#/definitions/" + wanted} | schemas)
        for example in reversed(by_event.get(event, [])):
            if action != "event" and example.get("action") != action:
                continue
            if wanted in PREFER and not PREFER[wanted](example):
                continue
            if validator.is_valid(example):
                picked[wanted] = example
                break
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("/work/shared/github"))
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "github")
    args = parser.parse_args()
    src: Path = args.source
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    spec = json.loads((src / "api.github.com.json").read_text())
    subset = trim_openapi(spec)
    (out / "openapi-subset.json").write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n")

    schemas = json.loads((src / "webhook-schemas.json").read_text())
    hooks = trim_webhook_schemas(schemas)
    (out / "webhook-schemas-subset.json").write_text(json.dumps(hooks, indent=1) + "\n")

    examples = json.loads((src / "webhook-examples.json").read_text())
    payloads = out / "payloads"
    payloads.mkdir(exist_ok=True)
    picked = pick_examples(examples, hooks)
    for wanted, example in picked.items():
        name = wanted.replace("$event", "").replace("$", ".")
        (payloads / f"{name}.json").write_text(json.dumps(example, indent=1) + "\n")
    missing = sorted(set(WEBHOOKS) - picked.keys())

    shutil.copyfile(src / "LICENSE-octokit-MIT", out / "LICENSE-octokit-MIT")
    sizes = {p.name: p.stat().st_size for p in (out / "openapi-subset.json", out / "webhook-schemas-subset.json")}
    print(f"operations: {len(OPERATIONS)}; components: "
          + ", ".join(f"{k} {len(v)}" for k, v in subset["components"].items()))
    print(f"webhook definitions: {len(hooks['definitions'])}; payloads: {len(picked)}; "
          f"no real example (build from a neighbour in tests): {missing}")
    print("sizes:", sizes)


if __name__ == "__main__":
    main()
