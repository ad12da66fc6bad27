"""Generate a synthetic platform repository of N valid requests, cloned from the example platform's requests.

Every generated request is a copy of one of examples/platform/requests (so it is valid for the bundled
offerings and policies) under a new name and a generated team, spread over the example's environments.
Usage: python benchmarks/generate.py OUT_DIR N
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "platform"


def templates() -> list[tuple[str, dict]]:
    out = []
    for path in sorted((EXAMPLE / "requests").rglob("*.yaml")):
        env = path.relative_to(EXAMPLE / "requests").parts[0]
        out.append((env, yaml.safe_load(path.read_text())))
    if not out:
        raise SystemExit(f"no requests under {EXAMPLE / 'requests'}")
    return out


def generate(root: Path, n: int, *, teams: int = 50) -> list[Path]:
    """Write pledge.yaml (teamPattern instead of a team list) and n requests; return their paths."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    config = yaml.safe_load((EXAMPLE / "pledge.yaml").read_text())
    config.pop("teams", None)
    config["teamPattern"] = "^team-[0-9]+$"
    (root / "pledge.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    pool = templates()
    paths = []
    for i in range(n):
        env, doc = pool[i % len(pool)]
        team = f"team-{i % teams}"
        name = f"{doc['metadata']['name'][:40]}-{i}"
        new = {**doc, "metadata": {**doc["metadata"], "name": name, "team": team}}
        spec = dict(new.get("spec") or {})
        if isinstance(spec.get("namespace"), str):
            spec["namespace"] = team  # keep requests inside their team's namespace
        new["spec"] = spec
        path = root / "requests" / env / team / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(new, sort_keys=False))
        paths.append(path)
    return paths


if __name__ == "__main__":
    out, count = Path(sys.argv[1]), int(sys.argv[2])
    generate(out, count)
    print(f"wrote {count} requests to {out}")
