"""The documentation: README stays a newcomer's page, the site builds strictly, the reference is generated.

The README's quick start is what `.ci/run` runs; the options/commands/fields reference pages are exactly what
`python -m slm_energy_plugin.docs_reference` writes from the code; every command in README and the docs runs
from the venv; commands that pick "the latest run" only ever pick a run folder (issue 24).
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from slm_energy_plugin import docs_reference
from slm_energy_plugin.backends.spec import ModelSpec
from slm_energy_plugin.cli import build_parser, main
from slm_energy_plugin.finetune.run import FinetuneRequest, default_output
from slm_energy_plugin.results import storage
from slm_energy_plugin.settings import OPTIONS, OptionSpec

from .results.test_schema import full_run

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
REGENERATE = ".venv/bin/python -m slm_energy_plugin.docs_reference"


def _commands(block: str) -> list[str]:
    """The shell commands of a code block: comments dropped, continuation lines joined."""
    joined = block.replace("\\\n", " ")
    return [line.split("  #")[0].strip() for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _quick_start() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("## Quick start", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return _commands(block)


def _ci_lines() -> list[list[str]]:
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    return [shlex.split(line, comments=True) for line in text.splitlines() if shlex.split(line, comments=True)]


def test_readme_is_a_newcomers_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move detail into docs/ (at most 250)"


def test_readme_quick_start_is_what_ci_runs() -> None:
    install_and_suite, tests = _quick_start()[:2]
    install, suite = (part.strip() for part in install_and_suite.split("&&"))
    ci = _ci_lines()
    assert shlex.split(install) in ci, f".ci/run does not run {install!r}"
    # The main job: the same program and selection with the same options (their order does not matter).
    suite_words = shlex.split(suite)
    assert any(line[:2] == suite_words[:2] and sorted(line) == sorted(suite_words) for line in ci), \
        f".ci/run does not run the README's main job {suite!r}"
    assert shlex.split(tests) in ci, f".ci/run does not run the README's test command {tests!r}"


def _doc_pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def test_every_documented_command_runs_from_the_venv() -> None:
    bare = []
    for page in _doc_pages():
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S):
            for command in _commands(block):
                for part in re.split(r"&&|\|", command):
                    if re.match(r"(pytest|slm-energy|python|mkdocs)\b", part.strip()):
                        bare.append(f"{page.relative_to(ROOT)}: {command}")
    assert bare == [], "commands run outside .venv (another environment's, without the plugin):\n" + "\n".join(bare)


def test_readme_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    targets = [t for t in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text) if "://" not in t]
    assert targets, "README links into the docs"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == []


@pytest.mark.parametrize("relative", sorted(docs_reference.PAGES))
def test_generated_reference_pages_are_up_to_date(relative: str) -> None:
    page = DOCS / relative
    expected = docs_reference.PAGES[relative]()
    assert page.is_file() and page.read_text(encoding="utf-8") == expected, \
        f"docs/{relative} differs from the code it documents: regenerate it with `{REGENERATE}`"


def test_the_reference_has_every_option_and_command_the_old_readme_missed() -> None:
    options = (DOCS / "reference" / "options.md").read_text(encoding="utf-8")
    commands = (DOCS / "reference" / "commands.md").read_text(encoding="utf-8")
    for name in ("html", "cases", "temperature", "top-p", "seed", "stops", "sample-hz", "alpha"):
        assert f"`--energy-{name}" in options and f"`energy_{name.replace('-', '_')}`" in options
    for spec in OPTIONS:
        assert f"| `{spec.option}" in options
    for command in ("plot", "report", "export", "leaderboard", "finetune"):
        assert f"\n## {command}\n" in commands and f"slm-energy {command} " in commands


def test_an_option_added_to_the_table_appears_in_the_reference() -> None:
    # What another branch adding --energy-until to the table gets, without touching the generator.
    until = OptionSpec("until", str, None, "stop generating at this text; repeat with | for several", "TEXT")
    page = docs_reference.options_page((*OPTIONS, until))
    assert "| `--energy-until TEXT` | `energy_until` | stop generating at this text; repeat with \\| for several" \
           " | none |" in page
    assert f"{len(OPTIONS) + 1} options:" in page


def test_a_command_added_to_the_cli_appears_in_the_reference() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    extra = sub.add_parser("sweep", help="run a grid of settings")
    extra.add_argument("grid", help="the grid file")
    extra.add_argument("--jobs", type=int, default=2, help="parallel jobs. Default: %(default)s")
    extra.add_argument("--mode", choices=("fast", "full"), default="fast", help="one of %(choices)s")
    page = docs_reference.commands_page(parser)
    assert "| [`sweep`](#sweep) | run a grid of settings |" in page
    assert "slm-energy sweep [--jobs JOBS] [--mode {fast,full}] grid" in page
    assert "| `--jobs JOBS` | parallel jobs. Default: 2 |" in page
    assert "| `--mode {fast,full}` | one of fast, full |" in page


@pytest.mark.integration
def test_the_site_builds_with_warnings_as_errors(tmp_path: Path) -> None:
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "reference" / "options" / "index.html").is_file()
    assert (tmp_path / "site" / "tutorial" / "index.html").is_file()


def test_the_latest_run_is_a_run_folder_never_an_adapter(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results"
    run = results / "20261201T000000Z-aaaaaa"
    storage.write_model_runs(run, [full_run()])
    # What the old README's fine-tune example left there; `ls -d results/*/ | tail -1` picked it.
    adapter = results / "adapters" / "tiny-gpt2-sql"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}", encoding="utf-8")
    (results / "20261202T000000Z-bbbbbb").mkdir()          # a run that never wrote anything
    assert sorted(p.name for p in results.iterdir())[-1] == "adapters"
    assert main(["runs", "--latest", "--results-dir", str(results)]) == 0
    assert capsys.readouterr().out == f"{run}\n"


def test_runs_latest_without_a_finished_run_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results").mkdir()
    assert main(["runs", "--latest", "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "holds no finished run" in err


def test_adapters_are_written_outside_the_results_folder(tmp_path: Path) -> None:
    output = default_output(ModelSpec(alias="tiny-gpt2", source="tiny", tiny="gpt2"),
                            FinetuneRequest(model="tiny-gpt2"), tmp_path)
    assert output.relative_to(tmp_path).parts[0] == "adapters"
    docs = (DOCS / "how-to" / "finetune.md").read_text(encoding="utf-8")
    assert "--output adapters/tiny-gpt2-sql" in docs and "results/adapters" not in docs
    assert "adapters/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
