"""`pledge policy scan` is a drop-in for `kyverno-json scan`: byte-identical text on kyverno-json's own cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main

CASES = Path(__file__).parent / "kyverno-json"
SCAN_CASES = sorted(p.name for p in CASES.iterdir() if (p / "expected.txt").is_file())


@pytest.mark.parametrize("case", SCAN_CASES)
def test_cli_text_output_matches_kyverno_json(case: str) -> None:
    folder = CASES / case
    args = ["policy", "scan", "--policy", str(folder / "policy.yaml"),
            "--payload", str(next(folder.glob("payload.*")))]
    options = json.loads((folder / "options.json").read_text()) if (folder / "options.json").exists() else {}
    for expr in options.get("preprocess", []):
        args += ["--pre-process", expr]
    if options.get("bindings"):
        args += ["--bindings", str(folder / options["bindings"])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output == (folder / "expected.txt").read_text()


def test_cli_json_output_and_bad_policy(tmp_path: Path) -> None:
    folder = CASES / "005-pod-no-latest"
    result = CliRunner().invoke(main, ["policy", "scan", "--policy", str(folder / "policy.yaml"),
                                       "--payload", str(folder / "payload.yaml"), "--output", "json"])
    assert result.exit_code == 0
    assert json.loads(result.output)
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: json.kyverno.io/v1alpha1\nkind: ValidatingPolicy\nmetadata: {name: x}\n"
                   "spec:\n  rules:\n    - name: r\n      assert:\n        all:\n          - check: {(a ==): 1}\n")
    result = CliRunner().invoke(main, ["policy", "scan", "--policy", str(bad), "--payload",
                                       str(folder / "payload.yaml")])
    assert result.exit_code == 2
    assert str(bad) in result.output and "Traceback" not in result.output
