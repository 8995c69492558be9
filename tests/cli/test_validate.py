"""``phototherm validate``: the commissioning report of every physics module."""

from __future__ import annotations

import json

import pytest

from phototherm.commissioning import Check, CommissioningReport, run_commissioning
from phototherm.commissioning.cases import CASES
from phototherm.errors import InputError
from tests.cli.test_cli import run_cli


def test_validate_quick_passes_and_writes_the_report(tmp_path):
    proc = run_cli(["validate", "--quick", "--out", "report"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = tmp_path / "report"
    data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert data["passed"] and data["size"] == "quick"
    assert {c["module"] for c in data["checks"]} == set(CASES)       # every physics module is checked
    for check in data["checks"]:
        assert check["error"] <= check["tolerance"] and check["source"]
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "<table>" in html and "http" not in html                  # self-contained
    assert "| pass |" in (folder / "report.md").read_text(encoding="utf-8")
    assert "checks passed" in proc.stdout


def test_a_failing_check_fails_the_report():
    good = Check("m", "good", 1.0, 1.0 + 1e-9, "1", "relative", 1e-6, "test")
    bad = Check("m", "bad", 2.0, 2.5, "K", "absolute", 0.1, "test")
    nan = Check("m", "not finite", 2.0, float("nan"), "K", "absolute", 0.1, "test")
    report = CommissioningReport([good, bad, nan], "quick", {"backend": "cpu", "dtype": "float64"})
    assert good.passed and not bad.passed and not nan.passed
    assert bad.error == pytest.approx(0.5)
    assert not report.passed and report.failures == [bad, nan]
    assert "FAILED: bad, not finite" in report.table()
    assert "**FAIL**" in report.markdown()


def test_bad_requests_are_reported():
    with pytest.raises(InputError) as info:
        run_commissioning("medium", modules=["bioheat", "acoustics"])
    assert "size" in str(info.value) and "acoustics" in str(info.value)
