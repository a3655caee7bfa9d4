"""Corrupt or hostile files get one line and exit status 2, never a traceback (issue 11)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from slm_energy_plugin.cli import main
from slm_energy_plugin.errors import ConfigError
from slm_energy_plugin.workload.queries import parse_answers

from ..results.test_schema import full_run

BOMB = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
DEEP = "[" * 5000 + "]" * 5000


def _file(tmp_path: Path, change: Any) -> Path:
    data = full_run().to_dict()
    change(data)
    path = tmp_path / "environmental_data_m.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def _set(where: str, value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        *parents, last = where.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value
    return change


HOSTILE = {
    "rounds is a string": _set("query_history.0.rounds", "x"),
    "tokens_input is a list": _set("query_history.0.tokens_input", [1]),
    "duration_s is a word": _set("query_history.0.duration_s", "fast"),
    "a list where an object belongs": _set("carbon", [1, 2]),
    "query_history entry is a list": _set("query_history.0", [1]),
    "loads is an object": _set("loads", {"a": 1}),
    "energy is a string": _set("query_history.0.energy", "lots"),
    "huge integer": _set("query_history.0.tokens_output", "__HUGE__"),
    "deep nesting": _set("extra", "__DEEP__"),
    "duration 1e308": _set("query_history.0.duration_s", 1e308),
}


def _hostile_text(path: Path) -> None:
    text = path.read_text().replace('"__HUGE__"', "9" * 5000).replace('"__DEEP__"', DEEP)
    path.write_text(text)


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_compare_refuses_hostile_fields_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   name: str, fmt: str) -> None:
    path = _file(tmp_path, HOSTILE[name])
    _hostile_text(path)
    err = _one_line_error(capsys, ["compare", "--format", fmt, str(path)])
    assert str(path) in err


def test_recover_skips_non_utf8_and_non_object_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = full_run()
    record = run.records[0].to_dict()
    lines = [json.dumps({"kind": "run", "run_id": "r1", "started_at": "x", "machine": [], "settings": 3}),
             json.dumps({"kind": "model", "alias": "m", "info": run.info.to_dict()}),
             json.dumps({"kind": "query", "alias": "m", "record": record}),
             "[1, 2, 3]", '"just a string"', "{" * 3000 + "}" * 3000, '{"kind": "query", "n": ' + "9" * 5000 + "}",
             json.dumps({"kind": "query", "alias": "m", "record": {**record, "rounds": "x"}}),
             json.dumps({"kind": "query", "alias": "m", "record": [1]}),
             json.dumps({"kind": "query", "alias": "m", "record": {**record, "query_id": "q002"}})]
    (tmp_path / "journal.jsonl").write_bytes("\n".join(lines[:3]).encode() + b"\n\xff\xfe broken \xc3\n"
                                             + "\n".join(lines[3:]).encode() + b"\n")
    assert main(["recover", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "recovered 2 records of 1 models" in out or "recovered 2 records" in out
    assert "skipped 7 unreadable journal lines" in err and "Traceback" not in err
    data = json.loads((tmp_path / "environmental_data_tiny-gpt2.json").read_text())
    assert [q["query_id"] for q in data["query_history"]] == ["q001", "q002"]


def test_recover_on_a_journal_of_garbage_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "journal.jsonl").write_bytes(b"\xff\xfe\n[1]\n")
    err = _one_line_error(capsys, ["recover", str(tmp_path)])
    assert "holds no finished measurements (2 unreadable lines" in err


@pytest.mark.parametrize("line", ['{"id": "q001", "answer": ' + "9" * 5000 + "}",
                                  '{"id": "q001", "answer": "1", "x": ' + DEEP + "}"])
def test_hostile_answers_lines_are_one_line(line: str) -> None:
    with pytest.raises(ConfigError, match=r"answers.jsonl, line 1: .*(5000 characters|nested more than)"):
        parse_answers(line, "answers.jsonl", {"q001"})


@pytest.mark.parametrize("text, expected", [(BOMB, "alias"), ("hardware:\n  x: " + "1" * 5000 + "\n", "5000 characters")])
def test_estimator_config_refuses_alias_bombs_and_huge_numbers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str) -> None:
    config = tmp_path / "bomb.yaml"
    config.write_text(text)
    started = time.perf_counter()
    err = _one_line_error(capsys, ["estimate", "--config", str(config), "--in-tokens", "10", "--out-tokens", "10"])
    assert expected in err and time.perf_counter() - started < 5


def test_analytics_upload_refuses_an_alias_bomb_quickly() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from slm_energy_plugin.api.application import create_app
    from slm_energy_plugin.carbon.config import load_config

    with TestClient(create_app(load_config(include_user=False))) as client:
        started = time.perf_counter()
        response = client.post("/analytics", files={"file": ("log.yaml", BOMB.encode())}, params={"format": "yaml"})
    assert 400 <= response.status_code < 500 and time.perf_counter() - started < 5
    assert "alias" in response.json()["detail"]
