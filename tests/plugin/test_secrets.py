"""No secret in a run folder, a report, an export or the terminal (run folders are public CI artifacts).

Whole runs against real local servers: a Prometheus exposition served by prometheus_client reached
through a URL with ``user:password@`` and ``?token=``, and an OpenAI-compatible gateway that refuses
the key with HTTP 401 and echoes every request header (``Authorization`` included) in a plain-text
body that also carries raw terminal escape sequences. The credentials must still be *used*.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
import pytest

from ..backends.scripted_server import ScriptedServer
from ..conftest import run_dirs
from ..prometheus_exporter import Exporter

API_KEY = "sk-test-9f8e7d6c5b4a39281706"
PASSWORD = "s3cret"
TOKEN = "abc"
ESCAPES = ("\x1b", "\x07", "pwned")


def _leaks(text: str, secrets: tuple[str, ...]) -> list[str]:
    """The secrets found in ``text`` (outside embedded images). The token ``abc`` is short: it counts as found unless it sits
    inside a longer hexadecimal word (a run id or a hash, where it turns up by chance)."""
    # An embedded image's base64 payload is not text anyone reads, and a 4-letter secret such as
    # "dTpw" (base64 of u:p) turns up in megabytes of it by chance: search the text around it.
    text = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "data:image;base64,", text)
    found = [s for s in secrets if s in text]
    if any(len(m.group()) < 8 for m in re.finditer(r"[0-9a-fA-F]*abc[0-9a-fA-F]*", text)):
        found.append(TOKEN)
    return found


def _check_everything(project: pytest.Pytester, terminal: str, secrets: tuple[str, ...]) -> list[Path]:
    """Every file of the run folder, the terminal, `slm-energy report` and `slm-energy export`
    (real command runs, whose output is terminal too)."""
    [run_dir] = run_dirs(project.path)
    report, csv = project.path / "report.html", project.path / "export.csv"
    for command in (["report", str(run_dir), "-o", str(report)],
                    ["export", str(run_dir), "--format", "csv", "-o", str(csv)]):
        done = project.run(sys.executable, "-m", "slm_energy_plugin.cli", *command)
        assert done.ret == 0, done.stderr.str()
        terminal += done.stdout.str() + done.stderr.str()
    files = [p for p in run_dir.rglob("*") if p.is_file()] + [report, csv]
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not _leaks(text, secrets), f"{path.name} shows {_leaks(text, secrets)}"
        assert not any(e in text for e in ESCAPES), path.name
    assert not _leaks(terminal, secrets), [line for line in terminal.splitlines() if _leaks(line, secrets)]
    assert not any(e in terminal for e in ESCAPES)
    return files


def test_credentials_in_urls_and_echoed_headers_are_never_written_or_shown(
        bench_project: pytest.Pytester, prometheus_exporter: Exporter) -> None:
    prometheus_exporter.counters.set("node_rapl_package_joules_total", 1000.0, index="0")
    host = prometheus_exporter.host
    meter_url = f"http://user:{PASSWORD}@{host}/metrics?token={TOKEN}"
    with ScriptedServer() as server:
        server.mode = "401-echo"
        base_url = server.url.replace("http://", "http://u:p@") + "/v1"
        result = bench_project.runpytest_subprocess(
            "--energy-models", "tiny-gpt2,openai:m", "--energy-meter", f"prometheus={meter_url}",
            "--energy-base-url", base_url, "--energy-html", "--benchmark-disable", "-p", "no:cacheprovider")
    terminal = result.stdout.str() + result.stderr.str()
    # The credentials were used: the gateway got the user information as Basic auth.
    assert server.requests and all(r["__auth__"] == "Basic dTpw" for r in server.requests)
    assert "answered HTTP 401" in terminal and "Authorization: ***" in terminal
    files = _check_everything(bench_project, terminal, (PASSWORD, "u:p@", "dTpw", f"token={TOKEN}"))
    assert any(p.name == "report.html" for p in files) and any(p.name == "run.json" for p in files)
    manifest = next(p for p in files if p.name == "run.json").read_text()
    assert f"prometheus=http://***@{host}/metrics?token=***" in manifest   # still says where


def test_an_api_key_echoed_by_a_server_is_never_written_or_shown(
        bench_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
    with ScriptedServer() as server:
        server.mode = "401-echo"
        result = bench_project.runpytest_subprocess(
            "--energy-models", "openai:m", "--energy-base-url", server.url + "/v1", "--benchmark-disable",
            "-p", "no:cacheprovider", "--energy-idle-seconds", "0")
    terminal = result.stdout.str() + result.stderr.str()
    assert server.requests and all(r["__auth__"] == f"Bearer {API_KEY}" for r in server.requests)
    assert "answered HTTP 401" in terminal
    _check_everything(bench_project, terminal, (API_KEY, "9f8e7d6c5b4a"))
