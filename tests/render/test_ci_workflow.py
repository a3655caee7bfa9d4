"""The example CI workflow is valid (GitHub's workflow schema, offline) and its commands are real."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from slm_energy_plugin.cli import build_parser
from slm_energy_plugin.settings import OPTIONS

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "benchmark.yml"


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def test_the_workflow_matches_githubs_schema() -> None:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is in the dev extra")
    # The schema ships inside check-jsonschema (vendor.github-workflows): no network needed.
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    pytest.importorskip("check_jsonschema")
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: 3\n")
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0


def _steps() -> list[dict[str, Any]]:
    return list(_workflow()["jobs"]["benchmark"]["steps"])


def test_matrix_cache_artifacts_summary_and_gate() -> None:
    job = _workflow()["jobs"]["benchmark"]
    assert len(job["strategy"]["matrix"]["python"]) >= 2
    steps = _steps()
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "${{ env.SLM_ENERGY_CACHE_DIR }}"
    assert "SLM_ENERGY_CACHE_DIR" in _workflow()["env"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "${{ steps.run.outputs.dir }}"
    scripts = "\n".join(s.get("run", "") for s in steps)
    assert "--energy-html" in scripts and '>> "$GITHUB_STEP_SUMMARY"' in scripts
    assert "--baseline baseline --fail energy:10%" in scripts


def _commands(program: str) -> list[list[str]]:
    """Every command line in the workflow's scripts starting with ``program`` (continuations joined)."""
    text = "\n".join(s.get("run", "") for s in _steps()).replace("\\\n", " ")
    lines = [line.split(">>")[0].strip() for line in text.splitlines()]
    return [shlex.split(line.replace("${{", "X").replace("}}", "X"))[1:] for line in lines
            if line.startswith(program)]


def test_every_slm_energy_command_parses_with_the_real_cli() -> None:
    commands = _commands(".venv/bin/slm-energy")
    assert {c[0] for c in commands} == {"plot", "compare"}
    for argv in commands:
        build_parser().parse_args(argv)       # exits (SystemExit) on an unknown option


def test_every_pytest_option_exists() -> None:
    known = {spec.option for spec in OPTIONS}
    (argv,) = _commands(".venv/bin/pytest")
    used = [a for a in argv if a.startswith("--energy-")]
    assert used and set(used) <= known, set(used) - known
