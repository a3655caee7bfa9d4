"""The package's floors hold: ``lint-imports`` keeps every contract in pyproject.toml ([tool.importlinter]).

The contracts (docs/explanation/design.md, "Layers"): the bottom floor imports nothing else from the
package; results (the data layer) imports no statistics, measurement, renderer, role, command or plugin;
pure modules import no pytest; no room below the renderers imports render; quality does not
import finetune.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    """The ``lint-imports`` of this interpreter's environment (the dev extra installs it)."""
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[dev]' (import-linter)", pytrace=False)
    return found


def _run(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with pyproject.toml's contracts, on the package in ``package_parent``.

    Run from there: lint-imports puts its working folder first on the import path.
    """
    env = {**os.environ, "COLUMNS": "200", "PYTHONPATH": os.pathsep.join(filter(None, [str(package_parent),
                                                                      os.environ.get("PYTHONPATH")]))}
    return subprocess.run([_lint_imports(), "--no-cache", str(ROOT / "pyproject.toml")], cwd=package_parent, env=env,
                          capture_output=True, text=True, timeout=60)


def test_every_layer_contract_is_kept() -> None:
    done = _run(ROOT)
    output = done.stdout + done.stderr
    print(output)
    assert done.returncode == 0, output
    assert "5 kept, 0 broken" in output, output


def test_a_floor_module_importing_a_renderer_breaks_the_contract(tmp_path: Path) -> None:
    # The contracts bite: a copy of the package whose number format imports the writer protocol.
    copy = tmp_path / "slm_energy_plugin"
    shutil.copytree(ROOT / "slm_energy_plugin", copy, ignore=shutil.ignore_patterns("__pycache__"))
    leaf = copy / "number_format.py"
    leaf.write_text(leaf.read_text(encoding="utf-8") + "\nfrom .render.writer import WIDTH  # noqa: E402\n",
                    encoding="utf-8")
    done = _run(tmp_path)
    output = done.stdout + done.stderr
    print(output)
    assert done.returncode != 0, output
    assert "Bottom floor" in output and "BROKEN" in output, output
    assert "slm_energy_plugin.number_format -> slm_energy_plugin.render.writer" in output, output


def test_quality_borrowing_from_finetune_breaks_the_contract(tmp_path: Path) -> None:
    # The lean issue 24 closed: quality/task_metrics.py once imported finetune.tradeoff's paired accuracy
    # (inside a function, which lint-imports sees too).
    copy = tmp_path / "slm_energy_plugin"
    shutil.copytree(ROOT / "slm_energy_plugin", copy, ignore=shutil.ignore_patterns("__pycache__"))
    module = copy / "quality" / "task_metrics.py"
    module.write_text(module.read_text(encoding="utf-8")
                      + "\n\ndef _borrow() -> None:\n    from ..finetune.tradeoff import paired_by_task  # noqa: F401\n",
                      encoding="utf-8")
    done = _run(tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "quality (answer quality) does not import finetune" in output and "BROKEN" in output, output
    assert "slm_energy_plugin.quality.task_metrics -> slm_energy_plugin.finetune.tradeoff" in output, output
