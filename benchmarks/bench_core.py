"""Core benchmarks (issue 2): validate vs check-jsonschema, incremental render, peak memory.

Runs real processes on generated repositories and prints what it measured:
  1. `pledge validate` (YAML + schema + policies) over N requests vs `check-jsonschema` validating the same
     files against the same schemas (`pledge schemas`), side by side, wall time; target ratio <= 1.0.
  2. Peak memory (max RSS) of `pledge validate` on N requests; target <= 250 MB.
  3. `pledge render` after one request changed, in an N-request repository vs a 10-request one; target <= 2x.
Usage: python benchmarks/bench_core.py [--requests 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

BIN = Path(sys.executable).parent


def run(cmd: list[str], *, ok: tuple[int, ...] = (0,)) -> tuple[float, int]:
    """Wall seconds and max RSS (KiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise SystemExit(f"{' '.join(cmd[:4])}... exited {proc.returncode}:\n{tail}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(after, before)


def peak_rss_kib(cmd: list[str]) -> int:
    """Max RSS of one process, measured by a fresh helper so earlier children do not count."""
    code = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],capture_output=True);"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def bench_validate(root: Path, repeat: int) -> None:
    schemas = root.parent / "schemas"
    subprocess.run([str(BIN / "pledge"), "schemas", "--repo", str(root), "--out", str(schemas)], check=True,
                   capture_output=True)
    by_schema: dict[str, list[str]] = defaultdict(list)
    kind_to_file = _kind_index(schemas)
    for path in sorted((root / "requests").rglob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        by_schema[str(kind_to_file[(doc["apiVersion"], doc["kind"])])].append(str(path))
    pledge_cmd = [str(BIN / "pledge"), "validate", "--repo", str(root), "--format", "json"]
    cjs_cmds = [[str(BIN / "check-jsonschema"), "--schemafile", schema, *files] for schema, files in by_schema.items()]
    pledge_times, cjs_times = [], []
    for _ in range(repeat):
        pledge_times.append(run(pledge_cmd)[0])
        cjs_times.append(sum(run(cmd)[0] for cmd in cjs_cmds))
    n = sum(len(f) for f in by_schema.values())
    p, c = statistics.median(pledge_times), statistics.median(cjs_times)
    print(f"validate {n} requests: pledge (yaml+schema+policies) {p:.2f}s median of {repeat} "
          f"({n / p:,.0f} req/s); check-jsonschema (schema only, {len(cjs_cmds)} runs) {c:.2f}s "
          f"({n / c:,.0f} req/s); ratio pledge/check-jsonschema = {p / c:.2f} (target <= 1.0)")
    rss = peak_rss_kib(pledge_cmd)
    print(f"peak memory of pledge validate on {n} requests: {rss / 1024:.0f} MB max RSS (target <= 250 MB)")


def _kind_index(schemas: Path) -> dict[tuple[str, str], Path]:
    """(apiVersion, kind) -> the exported schema file for it."""
    index = {}
    for s in schemas.glob("*.json"):
        props = json.loads(s.read_text())["properties"]
        index[(props["apiVersion"]["const"], props["kind"]["const"])] = s
    return index


def bench_incremental(base: Path, n: int, repeat: int) -> None:
    times = {}
    for size in (10, n):
        root = base / f"render-{size}"
        paths = generate(root, size)
        run([str(BIN / "pledge"), "render", "--repo", str(root)])  # full render first
        samples = []
        for i in range(repeat):
            target = paths[size // 2]
            doc = yaml.safe_load(target.read_text())
            doc["metadata"].setdefault("labels", {})["bench-round"] = str(i)
            target.write_text(yaml.safe_dump(doc, sort_keys=False))
            samples.append(run([str(BIN / "pledge"), "render", "--repo", str(root), "--format", "json"])[0])
        times[size] = statistics.median(samples)
        print(f"render after one change, {size} requests: {times[size]:.3f}s median of {repeat}")
    print(f"incremental render ratio {n}/10 = {times[n] / times[10]:.2f} (target <= 2.0)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=["validate", "render"], default=None)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pledge-bench-"))
    try:
        if args.only != "render":
            root = base / "validate"
            generate(root, args.requests)
            bench_validate(root, args.repeat)
        if args.only != "validate":
            bench_incremental(base, args.requests, args.repeat)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s)")


if __name__ == "__main__":
    main()
