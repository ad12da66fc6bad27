"""Policy engine benchmark (issue 3): rule evaluations per second, and proof that compiling happens once.

1. The bundled policy set (every offering's policies plus the request-wide ones) on a typical request of
   each offering (the example platform's dev and staging requests), one core: rule evaluations per second
   (a rule evaluation = one rule of one policy applied to one payload; target >= 5,000/s).
2. Compile once: time to load (parse + compile) the policy set vs time to evaluate it; evaluating 10,000
   payloads must cost about 10,000 evaluations, not 10,000 loads.
Usage: python benchmarks/bench_policy.py [--payloads 10000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from bot.core import policy
from bot.core.catalog import bundled_root
from bot.core.platform import parse_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "platform"


def load_set() -> list[policy.Policy]:
    return policy.load_policy_paths([bundled_root() / "policies"])


def payloads() -> list[tuple[dict, dict]]:
    config = parse_config((EXAMPLE / "pledge.yaml").read_bytes())
    out = []
    for path in sorted((EXAMPLE / "requests").rglob("*.yaml")):
        env, team = path.relative_to(EXAMPLE / "requests").parts[:2]
        doc = yaml.safe_load(path.read_text())
        binds = {"env": env, "team": team, "name": doc["metadata"]["name"], "offering": "", "version": "v1",
                 "config": config.data, "environment": config.env(env).to_data()}  # type: ignore[union-attr]
        out.append((doc, binds))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payloads", type=int, default=10_000)
    args = parser.parse_args()

    start = time.perf_counter()
    loads = 20
    for _ in range(loads):
        policies = load_set()
    load_time = (time.perf_counter() - start) / loads
    rules = sum(len(p.rules) for p in policies)
    samples = payloads()

    evaluated = applied = 0
    start = time.process_time()
    for i in range(args.payloads):
        doc, binds = samples[i % len(samples)]
        for pol in policies:
            evaluated += len(pol.rules)
            applied += len(pol.evaluate(doc, binds))
    cpu = time.process_time() - start
    per_payload = cpu / args.payloads
    print(f"policy set: {len(policies)} policies, {rules} rules; load + compile {load_time * 1000:.1f} ms")
    print(f"evaluated {args.payloads:,} payloads x {rules} rules = {evaluated:,} rule evaluations "
          f"({applied:,} applied after match/exclude) in {cpu:.2f} s CPU on one core: "
          f"{evaluated / cpu:,.0f} rule evaluations/s, {applied / cpu:,.0f} applied rules/s "
          "(counting only rules whose match held; target >= 5,000/s)")
    print(f"one payload costs {per_payload * 1000:.3f} ms = {per_payload / load_time:.3f} loads; "
          f"{args.payloads:,} payloads cost {cpu:.2f} s vs {args.payloads:,} loads "
          f"{load_time * args.payloads:.1f} s: compiled once, not per payload")


if __name__ == "__main__":
    main()
