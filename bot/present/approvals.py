"""Approvals as Markdown: the run title of a blocked commit and the approvals section (no @-mentions)."""

from __future__ import annotations

from bot.core.approvals import ApprovalResult, Invalidated, policy_of
from bot.present.markdown import escape


def title(result: ApprovalResult) -> str:
    if result.holds:
        return "On hold by " + ", ".join(h.user for h in result.holds)
    if result.missing:
        n = sum(r.missing for r in result.missing)
        return f"{n} approval{'s' if n > 1 else ''} needed: " + ", ".join(r.rule.name for r in result.missing)
    return "Approved" if result.requirements else "No approval needed"


def invalidated_line(item: Invalidated) -> str:
    return (f"{item.approval.user}'s approval at `{item.approval.sha[:7]}` was invalidated by push "
            f"`{item.by[:7]}` (requests, catalog or pledge.yaml changed); approve again with `/pledge approve`")


def lines(result: ApprovalResult) -> list[str]:
    """The section for the check run summary and the sticky comment; empty when approvals play no part."""
    if not (result.requirements or result.holds or result.invalidated or result.refused or result.uncovered):
        return []
    out = ["### Approvals", ""]
    out += [f"- ⛔ **on hold** by {h.user}: {escape(h.reason, inline=True) or 'no reason given'} "
            "(`/pledge unhold` lifts it)" for h in result.holds]
    for r in result.requirements:
        icon = "✋" if r.missing else "✅"
        got = f" by {', '.join(r.approvers)}" if r.approvers else ""
        need = f"; needs {r.missing} more from {r.rule.source.describe()}" if r.missing else ""
        shown = ", ".join(f"`{escape(s, inline=True)}`" for s in r.subjects[:5]) + (" …" if len(r.subjects) > 5 else "")
        out.append(f"- {icon} **{r.rule.name}** (pledge.yaml `approvals.{r.rule.name}`): "
                   f"{len(r.approvers)} of {r.rule.count}{got}{need} — for {shown}")
    out += [f"- ♻️ {invalidated_line(i)}" for i in result.invalidated]
    out += [f"- 🚫 {r.line.removeprefix('@')}" for r in result.refused]
    out += [f"- ❌ `{escape(f.path, inline=True)}:{f.line}` failed approvable policy `{policy_of(f)}` but no "
            "approvals rule with `when: approvable-policy` covers it" for f in result.uncovered]
    if result.missing:
        out += ["", "Comment `/pledge approve [reason]` to approve this commit."]
    return out
