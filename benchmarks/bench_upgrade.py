"""Upgrade benchmark (issue 14): `pledge upgrade --check` over N v1 Postgres requests vs `pledge validate` of them.

Generates N Postgres v1 request files (five realistic shapes: comments, the editor modeline, quoted values, flow
labels; spread over the example platform's environments and 50 teams, all valid on v1), then measures, in real
processes, wall time of:
  1. `pledge validate` (YAML + schema + policies) of the N requests;
  2. `pledge upgrade --check` of the same N (migrate each file to v2, validate the result, diff it);
target ratio upgrade/validate <= 2.0. Then, in-process, the cost per file of the two engines that write the
bytes (the text editor, which bot.core.migrate uses first, and ruamel.yaml's round trip, its fallback), so the
choice is visible in the numbers.
Usage: python benchmarks/bench_upgrade.py [--requests 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from generate import generate

from bot.core.catalog import load_catalog
from bot.core.migrate import Upgraded, migrate

BIN = Path(sys.executable).parent
MODELINE = "# yaml-language-server: $schema=../../../.pledge/schemas/postgres.v1.json\n"
SHAPES: list[tuple[str, str]] = [
    ("dev", MODELINE + """apiVersion: pledge.dev/v1
kind: Postgres
metadata:
  name: {name}
  team: {team}
spec:
  description: "Scratch data for {team}"   # shown on the Cluster
  version: 17
  storage:
    size: 20Gi
  # the application database
  database:
    name: app_{i}
    owner: app_{i}
"""),
    ("staging", MODELINE + """apiVersion: pledge.dev/v1
kind: Postgres
metadata:
  name: {name}
  team: {team}
  labels: {{cost-centre: cc-1234}}
spec:
  version: 16
  instances: 2
  storage:
    size: 50Gi
    storageClass: gp3
  resources:
    cpu: "1"
    memory: 2Gi
  backup:
    enabled: true        # continuous backup
    schedule: '0 30 1 * * *'
"""),
    ("prod", MODELINE + """apiVersion: pledge.dev/v1
kind: Postgres
metadata:
  name: {name}
  team: {team}
  labels:
    cost-centre: cc-1234
spec:
  version: 18
  instances: 3
  storage:
    size: 100Gi
  parameters:
    max_connections: "300"
    shared_buffers: 1GB
  backup:
    enabled: true
    retention: 30d
"""),
    ("dev", """apiVersion: pledge.dev/v1
kind: Postgres
metadata: {{name: {name}, team: {team}}}
spec:
  instances: 1
  backup:
    enabled: false
    retention: 7d   # had no effect: backups are off
"""),
    ("staging", MODELINE + """# owned by {team}
apiVersion: pledge.dev/v1
kind: Postgres
metadata:
  name: {name}
  team: {team}
  labels:
    cost-centre: cc-1234
spec:
  version: 17
  instances: 1
  database:
    name: orders
  backup:
    enabled: true
"""),
]


def make(root: Path, n: int) -> list[Path]:
    generate(root, 0)  # pledge.yaml (teams by pattern), no requests
    paths = []
    for i in range(n):
        env, shape = SHAPES[i % len(SHAPES)]
        team, name = f"team-{i % 50}", f"pg-{i}"
        path = root / "requests" / env / team / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(shape.format(name=name, team=team, i=i))
        paths.append(path)
    return paths


def run(cmd: list[str], ok: tuple[int, ...]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd[:3])} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return elapsed, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pledge-bench-upgrade-"))
    try:
        root = base / "platform"
        paths = make(root, args.requests)
        validate = [str(BIN / "pledge"), "validate", "--repo", str(root), "--format", "json"]
        upgrade = [str(BIN / "pledge"), "upgrade", "--check", "--repo", str(root), "--format", "json"]
        _, out = run(validate, (0,))
        report = json.loads(out)
        assert report["summary"]["error"] == 0, "the generated requests must be valid on v1"
        _, out = run(upgrade, (1,))
        plan = json.loads(out)
        engines: dict[str, int] = {}
        for f in plan["files"]:
            engines[f["engine"]] = engines.get(f["engine"], 0) + 1
        v, u = [], []
        for _ in range(args.repeat):
            v.append(run(validate, (0,))[0])
            u.append(run(upgrade, (1,))[0])
        tv, tu = statistics.median(v), statistics.median(u)
        n = len(paths)
        print(f"{n} Postgres v1 requests: pledge validate {tv:.2f}s, pledge upgrade --check {tu:.2f}s "
              f"(median of {args.repeat}); ratio upgrade/validate = {tu / tv:.2f} (target <= 2.0)")
        print(f"upgrade --check: {plan['summary']['would_change']} would change, {plan['summary']['refused']} "
              f"refused; written by engine: {engines}; {report['summary']['warning']} deprecation warning(s) "
              "from validate")
        migration = load_catalog(None).migrations[("postgres", "v1", "v2")]
        sample = [p.read_bytes() for p in paths[:500]]
        for engine in ("text", "ruamel"):
            start = time.perf_counter()
            results = [migrate(raw, [migration], group="pledge.dev", engine=engine) for raw in sample]
            per_file = (time.perf_counter() - start) / len(sample) * 1000
            ok = sum(isinstance(r, Upgraded) for r in results)
            print(f"engine {engine}: {per_file:.2f} ms per file (migrate only, {ok}/{len(sample)} upgraded)")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s)")


if __name__ == "__main__":
    main()
