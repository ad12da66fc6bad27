"""The GitHub Action (action.yml) and the workflows in .github/workflows/.

- both validate against SchemaStore's schemas, copied into tests/deploy/schemas/ (source and licence in its
  README); a broken action proves the schema is really applied;
- the composite steps take every expression through `env:` (no `${{ }}` inside a script: no injection from
  a branch name) and pass ShellCheck;
- the steps that fetch and check run here for real, as the runner would run them, on a shallow clone of a
  local repository: errors come out as `::error file=…` and exit 1, a clean PR exits 0, drift mode works;
- the example workflow uses the action instead of `pip install pledge` (a different project on PyPI).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.deploytest import BIN, ROOT, tool

SCHEMAS = Path(__file__).parent / "schemas"
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


class Loader(yaml.SafeLoader):
    """YAML as GitHub reads it: `on:` is a key, not the boolean true (PyYAML follows YAML 1.1 there)."""


Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                             list("tTfF"))


def load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=Loader)


def validator(name: str) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def errors(v: jsonschema.Draft7Validator, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(doc)]


def test_the_schemas_are_schemastores_with_their_licence() -> None:
    assert "Apache License" in (SCHEMAS / "LICENSE").read_text()
    readme = (SCHEMAS / "README.md").read_text()
    assert "SchemaStore" in readme and "3b6446ad8a07" in readme
    for name in ("github-action.json", "github-workflow.json"):
        assert json.loads((SCHEMAS / name).read_text())["$id"] == f"https://json.schemastore.org/{name}"


def test_action_yml_validates() -> None:
    assert errors(validator("github-action.json"), load(ACTION)) == []


def test_a_broken_action_does_not_validate() -> None:
    no_shell = load(ACTION)
    no_shell["runs"]["steps"][1].pop("shell")  # a composite `run` step must name its shell
    assert errors(validator("github-action.json"), no_shell)
    typo = load(ACTION)
    typo["inputs"]["mode"]["defualt"] = "check"
    assert errors(validator("github-action.json"), typo) == [
        "inputs/mode: Additional properties are not allowed ('defualt' was unexpected)"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_validate(workflow: Path) -> None:
    doc = load(workflow)
    assert "on" in doc
    assert errors(validator("github-workflow.json"), doc) == []


def test_a_broken_workflow_does_not_validate() -> None:
    doc = load(ROOT / ".github" / "workflows" / "pledge-check.example.yml")
    doc["jobs"]["check"]["runs-on"] = None
    doc["jobs"]["check"]["steps"][0]["uses"] = 42
    assert errors(validator("github-workflow.json"), doc)


def run_steps() -> dict[str, dict[str, Any]]:
    steps = load(ACTION)["runs"]["steps"]
    return {s.get("id") or s["name"]: s for s in steps if "run" in s}


def test_scripts_take_expressions_only_through_env() -> None:
    for name, step in run_steps().items():
        assert "${{" not in step["run"], f"{name}: pass the expression through env: instead"
        assert step["shell"] == "bash"
    install = run_steps()["Install Pledge from this action's own files"]
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert '-m pip install --quiet --disable-pip-version-check "$ACTION_PATH"' in install["run"]
    uses = [s["uses"] for s in load(ACTION)["runs"]["steps"] if "uses" in s]
    assert uses == ["actions/setup-python@v5"]


def test_scripts_pass_shellcheck(tmp_path: Path) -> None:
    shellcheck = tool("shellcheck")
    for i, step in enumerate(run_steps().values()):
        script = tmp_path / f"step{i}.sh"
        script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + step["run"])  # GitHub's `bash` shell
        proc = subprocess.run([shellcheck, "--severity=style", str(script)], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, proc.stdout


def test_the_check_options_exist_in_the_cli() -> None:
    from bot.cli import main

    options = {opt for p in main.commands["check"].params for opt in p.opts}  # type: ignore[attr-defined]
    assert {"--repo", "--base", "--head", "--format"} <= options
    render = {opt for p in main.commands["render"].params for opt in p.opts}  # type: ignore[attr-defined]
    assert {"--repo", "--check", "--format"} <= render


def test_the_example_workflow_uses_the_action() -> None:
    doc = load(ROOT / ".github" / "workflows" / "pledge-check.example.yml")
    steps = {job: [s.get("uses", "") for s in spec["steps"]] for job, spec in doc["jobs"].items()}
    for job in ("check", "drift"):
        assert any(re.fullmatch(r"[\w.-]+/pledge@v\d+(\.\d+)*", u) for u in steps[job]), steps[job]
    drift = next(s for s in doc["jobs"]["drift"]["steps"] if s.get("uses", "").split("@")[0].endswith("/pledge"))
    assert drift["with"] == {"mode": "render-check"}
    assert "pip install pledge" not in (ROOT / ".github" / "workflows" / "pledge-check.example.yml").read_text()


def test_docs_show_the_example_workflow() -> None:
    snippet = re.search(r"```yaml\n(.*?)```", (ROOT / "docs" / "action.md").read_text(), re.S)
    assert snippet
    example = ROOT / ".github" / "workflows" / "pledge-check.example.yml"
    assert yaml.load(snippet.group(1), Loader=Loader) == load(example)


# ------------------------------------------------------------------------ the steps, run for real

def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


GOOD = """apiVersion: pledge.dev/v1
kind: Postgres
metadata:
  name: reports-db
  team: payments
  labels:
    cost-centre: cc-1042
spec:
  instances: 2
  storage:
    size: 20Gi
  version: 16
"""


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A bare `origin` with main (the example platform), a clean PR branch and a PR branch with an error."""
    work = tmp_path_factory.mktemp("platform")
    shutil.copytree(ROOT / "examples" / "platform", work, dirs_exist_ok=True)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "platform")
    base = git(work, "rev-parse", "HEAD")
    shas = {"base": base}
    for branch, text in (("good", GOOD), ("bad", GOOD.replace("instances: 2", "instances: two"))):
        git(work, "checkout", "-q", "-b", branch, base)
        (work / "requests" / "staging" / "payments").mkdir(parents=True, exist_ok=True)
        (work / "requests" / "staging" / "payments" / "reports-db.yaml").write_text(text)
        git(work, "add", "-A")
        git(work, "commit", "-qm", f"{branch} request")
        shas[branch] = git(work, "rev-parse", "HEAD")
    bare = tmp_path_factory.mktemp("origin") / "platform.git"
    git(work, "clone", "-q", "--bare", str(work), str(bare))
    return {**shas, "url": f"file://{bare}"}


def checkout(origin: dict[str, str], tmp_path: Path, branch: str) -> Path:
    """What actions/checkout leaves by default: one commit, no history, no other refs."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--no-tags", "--branch", branch, origin["url"], str(clone))
    assert git(clone, "rev-parse", "--is-shallow-repository") == "true"
    return clone


def runner_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """The runner's variables for the steps; pledge-venv/bin/pledge is the one the install step would make."""
    temp = tmp_path / "runner-temp"
    (temp / "pledge-venv" / "bin").mkdir(parents=True)
    (temp / "pledge-venv" / "bin" / "pledge").symlink_to(BIN / "pledge")
    output = tmp_path / "github-output"
    output.write_text("")
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RUNNER_TEMP": str(temp),
            "GITHUB_OUTPUT": str(output), "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
            "MODE": "check", **env}


def step(name: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = run_steps()[name]["run"]
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_a_pr_with_an_error_fails_with_annotations(origin: dict[str, str], tmp_path: Path) -> None:
    clone = checkout(origin, tmp_path, "bad")
    env = runner_env(tmp_path, BASE=origin["base"], HEAD_SHA=origin["bad"])
    fetched = step("Fetch the base and head commits", clone, env)
    assert fetched.returncode == 0, fetched.stderr
    assert git(clone, "rev-parse", "--is-shallow-repository") == "false"
    ran = step("run", clone, env)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "::error file=requests/staging/payments/reports-db.yaml,line=" in ran.stdout, ran.stdout
    assert Path(env["GITHUB_OUTPUT"]).read_text() == "exit-code=1\n"


def test_a_clean_pr_passes(origin: dict[str, str], tmp_path: Path) -> None:
    clone = checkout(origin, tmp_path, "good")
    env = runner_env(tmp_path, BASE=origin["base"], HEAD_SHA=origin["good"])
    assert step("Fetch the base and head commits", clone, env).returncode == 0
    ran = step("run", clone, env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "::error" not in ran.stdout
    assert Path(env["GITHUB_OUTPUT"]).read_text() == "exit-code=0\n"


def test_without_base_and_head_it_says_why(origin: dict[str, str], tmp_path: Path) -> None:
    clone = checkout(origin, tmp_path, "good")
    env = runner_env(tmp_path, BASE="", HEAD_SHA="")  # e.g. a push event with the defaults
    fetched = step("Fetch the base and head commits", clone, env)
    assert fetched.returncode == 2 and "::error title=pledge::no base/head commit" in fetched.stdout


def test_render_check_mode_on_a_push(origin: dict[str, str], tmp_path: Path) -> None:
    clone = checkout(origin, tmp_path, "main")
    env = runner_env(tmp_path, MODE="render-check")
    ran = step("run", clone, env)
    assert ran.returncode == 0, ran.stdout + ran.stderr  # the example platform's output is committed in sync
    (clone / "environments" / "dev" / "kustomization.yaml").write_text("# edited by hand\n")
    drift = step("run", clone, runner_env(tmp_path / "again", MODE="render-check"))
    assert drift.returncode == 1 and "::error" in drift.stdout, drift.stdout


def test_an_unknown_mode_is_a_usage_error(origin: dict[str, str], tmp_path: Path) -> None:
    clone = checkout(origin, tmp_path, "main")
    ran = step("run", clone, runner_env(tmp_path, MODE="deploy"))
    assert ran.returncode == 2 and "mode must be check or render-check" in ran.stdout
