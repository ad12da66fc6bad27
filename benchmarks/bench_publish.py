"""Benchmark: publish a one-request merge in a 5,000-request repository vs a 10-request one (warm clone).

Run: /work/venv/bin/python benchmarks/bench_publish.py [--big 5000] [--small 10] [--rounds 15]
Prints the median publish time of each, their ratio (target <= 2x) and the HTTP requests made (target 0:
git does everything; the PR comment is the caller's one REST call).
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import git

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.git.publish import publish
from bot.core.publish import MergeInfo

ROOT = Path(__file__).resolve().parents[1]
PLATFORM = ROOT / "tests" / "publish" / "platform"
TEAMS = 25
ENV = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
       "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}


def sh(cwd: Path, *args: str) -> str:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **ENV}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def request(name: str, team: str) -> str:
    return f"apiVersion: pledge.dev/v1\nkind: Cache\nmetadata:\n  name: {name}\n  team: {team}\nspec:\n  size: 4\n"


def build(root: Path, count: int) -> tuple[Path, git.Repo, Path]:
    """A bare remote holding `count` requests (2 envs x 25 teams), a developer clone and a warm worker clone
    whose first publish (a full render) has already run."""
    bare, dev = root / "remote.git", root / "dev"
    shutil.copytree(PLATFORM, dev)
    config = (dev / "pledge.yaml").read_text().split("teams:")[0]
    teams = "".join(f"  - name: team-{t:02d}\n" for t in range(TEAMS))
    (dev / "pledge.yaml").write_text(config + "teams:\n" + teams + "catalog:\n  bundled: false\n")
    for i in range(count):
        team, env = f"team-{i % TEAMS:02d}", ("dev", "prod")[(i // TEAMS) % 2]
        path = dev / "requests" / env / team / f"c{i}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(request(f"c{i}", team))
    sh(root, "init", "-q", "--bare", "-b", "main", str(bare))
    sh(dev, "init", "-q", "-b", "main")
    sh(dev, "add", "-A")
    sh(dev, "commit", "-q", "-m", "platform")
    sh(dev, "remote", "add", "origin", str(bare))
    sh(dev, "push", "-q", "origin", "main")
    sh(root, "clone", "-q", str(bare), str(root / "worker"))
    worker = git.Repo(root / "worker")
    started = time.perf_counter()
    publish(worker, branch="main", merged=MergeInfo(1, "initial render", "bench"))
    print(f"  {count} requests: first (full) render and push {time.perf_counter() - started:.2f}s")
    return bare, worker, dev


def one_merge(dev: Path, worker: git.Repo, n: int) -> float:
    """Merge one new request (not timed), then time publishing it."""
    sh(dev, "pull", "-q", "--ff-only", "origin", "main")
    path = dev / "requests" / "dev" / "team-03" / f"new{n}.yaml"
    path.write_text(request(f"new{n}", "team-03"))
    sh(dev, "add", "-A")
    sh(dev, "commit", "-q", "-m", f"PR {n}")
    sh(dev, "push", "-q", "origin", "main")
    merged = MergeInfo(1000 + n, f"Add new{n}", "alice", ("bob",), (str(path.relative_to(dev)),))
    started = time.perf_counter()
    result = publish(worker, branch="main", merged=merged)
    elapsed = time.perf_counter() - started
    assert result.status == "pushed", result
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=5000)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    calls = 0
    real = http.client.HTTPConnection.request

    def counting(self: http.client.HTTPConnection, *a: object, **k: object) -> None:
        nonlocal calls
        calls += 1
        real(self, *a, **k)  # type: ignore[arg-type]

    http.client.HTTPConnection.request = counting  # type: ignore[method-assign]
    medians: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="pledge-bench-") as tmp:
        repos = {}
        for count in (args.small, args.big):
            root = Path(tmp) / str(count)
            root.mkdir()
            repos[count] = build(root, count)[1:]
        times: dict[int, list[float]] = {args.small: [], args.big: []}
        for n in range(args.rounds):  # interleaved, so both sizes see the same machine load
            for count, (worker, dev) in repos.items():
                times[count].append(one_merge(dev, worker, n))
        for count, values in times.items():
            medians[count] = statistics.median(values)
            print(f"  {count} requests: publish one-request merge median {medians[count] * 1000:.0f} ms "
                  f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, {args.rounds} rounds)")
    ratio = medians[args.big] / medians[args.small]
    print(f"ratio {args.big}/{args.small}: {ratio:.2f}x (target <= 2x) {'OK' if ratio <= 2 else 'OVER'}")
    print(f"HTTP requests made by publish(): {calls} (GitHub REST calls in the publish path: 0; the caller "
          "adds 1 to comment on the PR)")


if __name__ == "__main__":
    main()
