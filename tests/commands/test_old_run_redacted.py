"""A run folder written before secrets were redacted (issue 20, left over): its model file may hold a
Prometheus URL with ``user:password@`` and ``?token=`` in ``extra.settings``, the meter's warnings,
a record's error and the server description, and its run.json the same in ``settings`` and ``args``.
The files are read at one point (``results.storage.load_model_file``), which passes them through the
same redactor as ingestion, so ``compare``, ``report``, ``export`` and ``runs`` never print or write
the secret. The run is a real one; the secret is put where an old version wrote it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ..conftest import run_dirs

SECRET_URL = "http://user:s3cret@host/?token=abc"
SECRETS = ("s3cret", "token=abc", "user:s3cret")


def _as_an_old_version_wrote_it(run_dir: Path) -> None:
    manifest = run_dir / "run.json"
    run = json.loads(manifest.read_text())
    run["settings"]["meter"] = f"prometheus={SECRET_URL}"
    run["settings"]["base_url"] = SECRET_URL
    run["args"] += ["--energy-meter", f"prometheus={SECRET_URL}", f"--energy-base-url={SECRET_URL}"]
    manifest.write_text(json.dumps(run))
    [model_file] = run_dir.glob("environmental_data_*.json")
    data = json.loads(model_file.read_text())
    data["extra"]["settings"] = {**data["extra"].get("settings", {}), "meter": f"prometheus={SECRET_URL}"}
    data["model_info"]["server"] = {"base_url": SECRET_URL, "api_key": "s3cret"}
    data["energy_meter"]["description"] = f"Prometheus counters from {SECRET_URL}"
    data["warnings"].append(f"Prometheus endpoint {SECRET_URL} unreadable (ReadTimeout)")
    for record in data["query_history"]:
        record["energy"]["warnings"].append(f"Prometheus endpoint {SECRET_URL} unreadable; window not measured")
    data["query_history"][-1]["error"] = f"cannot connect to {SECRET_URL} (ConnectError)"
    model_file.write_text(json.dumps(data))


def test_report_export_compare_and_runs_of_an_old_run_show_no_secret(bench_project: pytest.Pytester) -> None:
    done = bench_project.runpytest_subprocess("--energy-models", "tiny-gpt2", "--benchmark-disable",
                                              "-p", "no:cacheprovider")
    assert done.ret == 0, done.stdout.str()[-2000:]
    [run_dir] = run_dirs(bench_project.path)
    _as_an_old_version_wrote_it(run_dir)
    out = bench_project.path / "out"
    out.mkdir()
    commands = [
        ["compare", str(run_dir)],
        ["compare", str(run_dir), "--format", "json"],
        ["compare", str(run_dir), "--format", "csv"],
        ["compare", str(run_dir), "--baseline", str(run_dir)],
        ["report", str(run_dir), "-o", str(out / "report.html")],
        ["export", str(run_dir), "--format", "csv", "-o", str(out / "export.csv")],
        ["export", str(run_dir), "--format", "jsonl", "-o", str(out / "export.jsonl")],
        ["export", str(run_dir), "--format", "seed", "-o", str(out / "seed")],
        ["export", str(run_dir), "--format", "experiment", "-o", str(out / "experiment")],
        ["runs", "--results-dir", str(run_dir.parent)],
    ]
    terminal = ""
    for command in commands:
        result = bench_project.run(sys.executable, "-m", "slm_energy_plugin.cli", *command)
        assert result.ret == 0, (command, result.stderr.str())
        terminal += result.stdout.str() + result.stderr.str()
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".html", ".csv", ".jsonl", ".json"}, written
    for path in written:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not [s for s in SECRETS if s in text], f"{path.name} shows a secret"
    assert not [s for s in SECRETS if s in terminal], [line for line in terminal.splitlines()
                                                      if any(s in line for s in SECRETS)]
    # Redacted, not dropped: the report and the export still say where the meter read from.
    assert "prometheus=http://***@host/?token=***" in (out / "export.jsonl").read_text().replace("\\/", "/")
