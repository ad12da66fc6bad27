"""Per-team quotas an offering declares (`x-pledge.quota.perTeam`): at most N requests of it per team and env."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

from bot.core.report import Finding, error
from bot.core.request import Request


def limit(req: Request) -> int | None:
    """The most requests of this offering one team may have in the request's environment (None: no limit)."""
    per_team = (req.offering.meta.get("quota") or {}).get("perTeam") or {}
    value = per_team.get(req.env, per_team.get("*"))
    return value if isinstance(value, int) else None


def over_quota(requests: Sequence[Request], mine: Collection[str] | None = None) -> list[Finding]:
    """An error at each request past its team's quota.

    `mine`: the requests a pull request adds or changes; only they are flagged (an unrelated PR is not
    blocked by a team that is already over). Without it (`pledge validate`), the requests after the first N
    in path order are flagged.
    """
    groups: dict[tuple[str, str, str], list[Request]] = defaultdict(list)
    for req in requests:
        if limit(req) is not None:
            groups[(req.env, req.team, req.offering.name)].append(req)
    out: list[Finding] = []
    for (env, team, _), members in sorted(groups.items()):
        members.sort(key=lambda r: r.path)
        for index, req in enumerate(members):
            most = limit(req)
            assert most is not None
            flagged = (req.path in mine) if mine is not None else index >= most
            if len(members) <= most or not flagged:
                continue
            line, col = req.doc.mark(("metadata", "name"))
            others = ", ".join(r.path for r in members if r is not req)
            out.append(error(req.path, line, col, "quota.per-team",
                             f"team {team} would have {len(members)} {req.offering.kind} requests in {env}; "
                             f"the offering allows at most {most} per team (x-pledge.quota in "
                             f"schemas/{req.offering.name}/{req.offering.version}.yaml). Remove one of: "
                             f"{others}, or ask the platform team to raise the quota"))
    return out
