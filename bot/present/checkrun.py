"""Pure: a Report as a check run output (title, summary, annotations, preview) and as the sticky comment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.gate import Gate, Snapshot
from bot.core.report import ERROR, NOTICE, WARNING, Conclusion, Finding, Report
from bot.present import approvals
from bot.present.markdown import ICONS, count, cut, escape

MARKER = "<!-- pledge:summary -->"
MAX_OUTPUT_CHARS = 65535  # check run summary and text
MAX_COMMENT_CHARS = 65536  # issue comment body (GitHub answers 422 above)
COMMENT_BUDGET = 60000  # cut comments with a margin
MAX_LISTED = 50  # findings listed in a summary or comment
MAX_ANNOTATIONS = 500  # annotations sent, most severe first: at most 10 PATCHes of 50 per check run
_LEVEL = {ERROR: "failure", WARNING: "warning", NOTICE: "notice"}


@dataclass(frozen=True)
class CheckOutput:
    """A check run's output: Markdown summary and text, and every annotation (batched when sent)."""

    title: str
    summary: str
    text: str = ""
    annotations: tuple[dict[str, Any], ...] = ()


def _place(f: Finding) -> str:
    return f"`{f.path.replace('`', '')}:{f.line}:{f.column}`"


_RANK = {ERROR: 0, WARNING: 1, NOTICE: 2}


def _annotatable(report: Report) -> list[Finding]:
    """Findings on a file of the repository (bundled-catalog findings have no file), most severe first."""
    found = [f for f in report.sorted_findings() if f.path and not f.path.startswith("<")]
    return sorted(found, key=lambda f: _RANK.get(f.severity, 3))  # stable: path and line order within a level


def unannotated(report: Report) -> int:
    """How many findings on files get no annotation because of the cap."""
    return max(len(_annotatable(report)) - MAX_ANNOTATIONS, 0)


def annotations_for(report: Report) -> list[dict[str, Any]]:
    """One annotation per finding on a file, most severe first, at most MAX_ANNOTATIONS: every check run
    costs a bounded number of REST calls however many findings there are."""
    out: list[dict[str, Any]] = []
    for f in _annotatable(report)[:MAX_ANNOTATIONS]:
        line = max(f.line, 1)
        item: dict[str, Any] = {
            "path": f.path,
            "start_line": line,
            "end_line": line,
            "annotation_level": _LEVEL.get(f.severity, "notice"),
            "message": cut(f.message, 60000, "message"),
            "title": f.rule[:255],
        }
        if f.column >= 1:
            item["start_column"] = item["end_column"] = f.column
        out.append(item)
    return out


def title(report: Report) -> str:
    errors, warnings = report.count(ERROR), report.count(WARNING)
    if errors or warnings:
        parts = [count(errors, "error")] if errors else []
        parts += [count(warnings, "warning")] if warnings else []
        return ", ".join(parts)
    created = sum(len(p.changes) for p in report.preview)
    judged = len(report.judged)
    if created:
        return f"{count(judged, 'request')} OK: {count(created, 'rendered file')} change on merge"
    return f"{count(judged, 'request')} OK" if judged else "Nothing for Pledge to check"


def _findings_list(report: Report) -> list[str]:
    findings = report.sorted_findings()
    lines = [f"- {_place(f)} **{f.severity}** {escape(f.message)} `{f.rule}`" for f in findings[:MAX_LISTED]]
    if len(findings) > MAX_LISTED:
        lines.append(f"- … and {len(findings) - MAX_LISTED} more (annotations on their lines)")
    rest = unannotated(report)
    if rest:
        lines.append(f"- {rest:,} more findings are not annotated (the {MAX_ANNOTATIONS} most severe are); "
                     "run `pledge validate` to see them all")
    return lines


def _preview_table(report: Report) -> list[str]:
    if not report.preview:
        return []
    rows = ["| environment | added | changed | removed |", "| --- | ---: | ---: | ---: |"]
    for p in report.preview:
        rows.append(f"| {escape(p.env)} | {p.count('added')} | {p.count('changed')} | {p.count('removed')} |")
    return rows


def _conclusion(report: Report, gate: Gate | None) -> Conclusion:
    return gate.conclusion if gate is not None else report.conclusion


def _run_title(default: str, gate: Gate | None) -> str:
    """A run held back by approvals or holds is titled by what it waits for."""
    if gate is not None and gate.conclusion == Conclusion.ACTION_REQUIRED:
        return approvals.title(gate.result)
    return default


def _with_approvals(text: str, gate: Gate | None, limit: int, what: str) -> str:
    lines = approvals.lines(gate.result) if gate is not None else []
    if not lines:
        return cut(text, limit, what)
    return cut(text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n", limit, what)


def check_output(report: Report, head_sha: str, gate: Gate | None = None) -> CheckOutput:
    """The completed check run: verdict and findings in the summary (with the approvals section when the gate
    has one), rendered diffs in the text."""
    summary = [
        f"{ICONS[_conclusion(report, gate)]} **{escape(title(report))}** for commit `{head_sha[:12]}`.",
        "",
        f"Pledge judged {count(len(report.judged), 'changed request')} with the base branch's catalog "
        "and pledge.yaml.",
    ]
    if report.findings:
        summary += ["", "### Findings", *_findings_list(report)]
    if report.preview:
        summary += ["", "### What merging changes", *_preview_table(report), "",
                    "The rendered diff is below (Details)."]
    if report.notes:
        summary += ["", *[f"- {escape(n)}" for n in report.notes]]
    text_parts: list[str] = []
    for p in report.preview:
        text_parts.append(f"### {escape(p.env)}\n")
        for change in p.changes:
            text_parts.append(f"- {change.status} `{change.path}`")
        diff = "".join(c.diff for c in p.changes).replace("```", "'''")
        text_parts.append(f"\n```diff\n{diff}```\n")
    return CheckOutput(
        title=_run_title(title(report), gate)[:255],
        summary=_with_approvals("\n".join(summary) + "\n", gate, MAX_OUTPUT_CHARS, "summary"),
        text=cut("\n".join(text_parts), MAX_OUTPUT_CHARS, "preview"),
        annotations=tuple(annotations_for(report)),
    )


def quiet_output(changed_paths: int, gate: Gate | None = None) -> CheckOutput:
    """The check of a pull request that touches no request, catalog, pledge.yaml or rendered file (holds
    still gate it)."""
    summary = (f"This pull request changes {count(changed_paths, 'file')}, none of them a request, the catalog, "
               "pledge.yaml or a file Pledge renders, so there is nothing to check.\n")
    return CheckOutput(title=_run_title("No requests changed", gate)[:255],
                       summary=_with_approvals(summary, gate, MAX_OUTPUT_CHARS, "summary"))


def snapshot_output(snap: Snapshot, gate: Gate) -> CheckOutput:
    """The run's output for a stored check, re-presented under the gate as it is now."""
    if snap.quiet is not None:
        return quiet_output(snap.quiet, gate)
    return check_output(snap.report, snap.sha, gate)


def failed_output(reason: str) -> CheckOutput:
    return CheckOutput(
        title="Pledge could not check this commit",
        summary=f"{escape(reason)}\n\nRe-run the check once the cause is fixed; the details are in Pledge's log.\n",
    )


def has_something_to_say(report: Report) -> bool:
    """Errors or warnings to fix, or rendered files that merging will create, change or remove."""
    return bool(report.count(ERROR) or report.count(WARNING) or report.preview)


def comment_body(report: Report, head_sha: str, check_url: str = "", gate: Gate | None = None) -> str | None:
    """The sticky comment, or None when there is nothing worth a comment (an approvals section always is)."""
    icon = ICONS[_conclusion(report, gate)]
    if not has_something_to_say(report):
        if gate is None or not approvals.lines(gate.result):
            return None
        head = f"{MARKER}\n### {icon} Pledge: {approvals.title(gate.result)}\n\nChecked commit `{head_sha[:12]}`.\n"
        return _with_approvals(head, gate, COMMENT_BUDGET, "comment")
    heading = escape(title(report))
    if gate is not None and gate.conclusion == Conclusion.ACTION_REQUIRED and gate.report_conclusion != gate.conclusion:
        heading = f"{approvals.title(gate.result)} · {heading}"
    lines = [MARKER, f"### {icon} Pledge: {heading}", "", f"Checked commit `{head_sha[:12]}`."]
    errors = [f for f in report.sorted_findings() if f.severity in (ERROR, WARNING)]
    if errors:
        lines += ["", "**To fix before merging:**" if report.count(ERROR) else "**Worth a look:**"]
        shown = errors[:MAX_LISTED]
        lines += [f"- {_place(f)} {escape(f.message)}" for f in shown]
        if len(errors) > len(shown):
            lines.append(f"- … and {len(errors) - len(shown)} more in the check run")
    if report.preview:
        lines += ["", "**What merging will create:**" if not report.count(ERROR) else
                  "**What merging would create once fixed:**"]
        for p in report.preview:
            parts = [f"{p.count(s)} {s}" for s in ("added", "changed", "removed") if p.count(s)]
            files = "".join(f"<br>{c.status} <code>{escape(c.path)}</code>" for c in p.changes[:MAX_LISTED])
            more = f"<br>… {len(p.changes) - MAX_LISTED} more" if len(p.changes) > MAX_LISTED else ""
            lines.append(f"- **{escape(p.env)}**: {', '.join(parts)}"
                         f"<details><summary>files</summary>{files}{more}</details>")
    where = f"[the pledge check run]({check_url})" if check_url else "the **pledge** check run"
    lines += ["", f"Every finding is annotated on its line and the rendered diff is in {where}. "
              "This comment is updated on every push."]
    return _with_approvals("\n".join(lines) + "\n", gate, COMMENT_BUDGET, "comment")


def cleared_comment(head_sha: str) -> str:
    """What the sticky comment says once a later push leaves nothing to report."""
    return (f"{MARKER}\n### ✅ Pledge: nothing to report\n\nCommit `{head_sha[:12]}` changes no request that "
            "needs attention.\n")
