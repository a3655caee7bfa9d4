"""``slm-energy countries``: a search that matches nothing is a usage error, not an empty table."""

from __future__ import annotations

import pytest

from slm_energy_plugin import cli


def test_a_search_that_matches_nothing_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["countries", "zzzz"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "no country matches 'zzzz'" in err


def test_a_search_by_name_lists_the_country(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["countries", "germ"]) == 0
    assert "DEU" in capsys.readouterr().out
