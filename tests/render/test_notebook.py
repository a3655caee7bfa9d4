"""examples/analysis.ipynb runs from top to bottom on a real run (so it never rots)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "analysis.ipynb"


def test_the_analysis_notebook_runs(real_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat", reason="the dev extra (nbformat, nbclient, ipykernel) is needed")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("SLM_ENERGY_RUN", str(real_run))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert str(real_run) in text
    assert "Hodges-Lehmann, paired on 4 queries" in text and "Wilcoxon signed-rank p(Holm)" in text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3
