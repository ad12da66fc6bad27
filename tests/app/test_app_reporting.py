"""Pure rendering of a Report as check run output and sticky comment."""

from __future__ import annotations

from bot.core.report import EnvPreview, FileChange, Finding, Report, error, warning
from bot.present.checkrun import (
    MARKER,
    MAX_OUTPUT_CHARS,
    annotations_for,
    check_output,
    comment_body,
    cut,
    title,
)

SHA = "0123456789abcdef" * 2 + "01234567"
REQ = "requests/dev/payments/orders.yaml"


def preview(n: int = 2, diff_lines: int = 3) -> list[EnvPreview]:
    changes = tuple(FileChange(f"environments/dev/payments/cache-orders/f{i}.yaml", "added",
                               "".join(f"+line {j}\n" for j in range(diff_lines))) for i in range(n))
    return [EnvPreview("dev", changes)]


def test_annotation_fields_follow_the_checks_api() -> None:
    report = Report(findings=[error(REQ, 7, 9, "schema.minimum", "0 is less than the minimum of 1"),
                              warning(REQ, 0, 0, "policy.x/y", "whole file"),
                              Finding("<bundled>/schemas/x.yaml", 1, 1, "error", "catalog.broken", "not on a file")])
    notes = annotations_for(report)
    assert len(notes) == 2  # the bundled-catalog finding has no file in the repository
    first = next(a for a in notes if a["annotation_level"] == "failure")
    assert first == {"path": REQ, "start_line": 7, "end_line": 7, "annotation_level": "failure",
                     "message": "0 is less than the minimum of 1", "title": "schema.minimum",
                     "start_column": 9, "end_column": 9}
    whole = next(a for a in notes if a["annotation_level"] == "warning")
    assert whole["start_line"] == 1 and "start_column" not in whole


def test_titles() -> None:
    assert title(Report()) == "Nothing for Pledge to check"
    assert title(Report(judged=[REQ], preview=preview())) == "1 request OK: 2 rendered files change on merge"
    assert title(Report(findings=[error(REQ, 1, 1, "r", "m")] * 1 + [warning(REQ, 2, 1, "r", "w")])) == \
        "1 error, 1 warning"


def test_no_comment_when_nothing_to_say() -> None:
    assert comment_body(Report(judged=[REQ]), SHA) is None


def test_comment_lists_errors_and_what_will_be_created() -> None:
    report = Report(findings=[error(REQ, 7, 9, "schema.minimum", "size <b>0</b> is too small")],
                    preview=preview(), judged=[REQ])
    body = comment_body(report, SHA)
    assert body is not None and body.startswith(MARKER)
    assert "orders.yaml:7:9" in body and "&lt;b&gt;0&lt;/b&gt;" in body  # no HTML from messages
    assert "What merging would create once fixed" in body
    assert SHA[:12] in body


def test_check_output_summary_and_preview_text() -> None:
    out = check_output(Report(preview=preview(), judged=[REQ]), SHA)
    assert "| dev | 2 | 0 | 0 |" in out.summary
    assert "```diff\n+line 0" in out.text


def test_huge_preview_is_cut_cleanly_below_the_limit() -> None:
    out = check_output(Report(preview=preview(n=40, diff_lines=400), judged=[REQ]), SHA)
    assert len(out.text) <= MAX_OUTPUT_CHARS
    assert "preview cut here" in out.text
    assert out.text.count("```") % 2 == 0


def test_cut_leaves_short_text_alone() -> None:
    assert cut("short", 10) == "short"
