"""Print an upgrade plan: the files that move (with their diff under --check), the notes, and the refusals."""

from __future__ import annotations

import json
from typing import Any

from bot.core.upgrade import UpgradePlan


def summary(plan: UpgradePlan, *, check: bool) -> dict[str, int]:
    return {"upgraded" if not check else "would_change": len(plan.files), "refused": len(plan.refused),
            "current": plan.current}


def text(plan: UpgradePlan, *, check: bool) -> str:
    out: list[str] = []
    verb = "would upgrade" if check else "upgraded"
    for upgrade in plan.files:
        out.append(f"{verb} {upgrade.path}: {upgrade.source} -> {upgrade.target}")
        out += [f"  note: {note}" for note in upgrade.notes]
        if check:
            out.append(upgrade.diff().rstrip("\n"))
    for finding in sorted(plan.findings):
        out.append(f"{finding.path}:{finding.line}:{finding.column}  {finding.severity}  {finding.message}  "
                   f"[{finding.rule}]")
    out += plan.notes
    counts = summary(plan, check=check)
    out.append(f"{len(plan.files)} file(s) {verb}, {counts['refused']} refused, {plan.current} already current")
    return "\n".join(out) + "\n"


def as_json(plan: UpgradePlan, *, check: bool) -> str:
    data: dict[str, Any] = {
        "files": [{"path": u.path, "offering": u.offering, "from": u.source, "to": u.target,
                   "notes": list(u.notes), "engine": u.engine, "diff": u.diff()} for u in plan.files],
        "findings": [f.to_json() for f in sorted(plan.findings)],
        "notes": list(plan.notes),
        "summary": summary(plan, check=check),
    }
    return json.dumps(data, indent=2) + "\n"
