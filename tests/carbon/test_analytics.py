"""Usage analytics: parsing CSV/YAML logs and aggregating daily, monthly and per profile."""

from __future__ import annotations

import pytest

from slm_energy_plugin.carbon.analytics import analyse, parse_usage
from slm_energy_plugin.carbon.config import config_from_text
from slm_energy_plugin.errors import ConfigError

# A toy world where everything is a point value, so the totals can be computed by hand:
# a request of 1000 in + 100 out tokens takes 1000/1000 + 100/10 = 11 s at 100 W, PUE 1.0,
# i.e. 1100 J = 1100/3.6e6 kWh, and 500 g/kWh makes it 1100/3.6e6 * 500 g.
TOY = """
hardware:
  toy:
    source: test
    gpu_power_w: 0
    gpu_util: 0
    cpu_power_w: 100
    cpu_util: 1
    ram_power_w: 0
    prefill_tokens_per_s: 1000
    decode_tokens_per_s: 10
profiles:
  flat: {tokens_in: 1000, tokens_out: 100}
  ranged: {tokens_in: {value: 1000, low: 500, high: 2000}, tokens_out: 100}
regions:
  toygrid: {intensity_g_per_kwh: 500, source: test}
"""

CSV = """date,profile,requests,tokens_in,tokens_out
2024-01-01,flat,10,,
2024-01-02,flat,20,,
2024-02-01,flat,5,5000,250
"""


@pytest.fixture(scope="module")
def toy():
    config = config_from_text(TOY, "toy.yaml")
    return config, config.hardware_profile("toy"), config.region("toygrid"), config.datacenter("local")


def kwh(seconds: float, requests: int) -> float:
    return 100 * seconds * requests / 3.6e6


def test_csv_log_aggregates_by_hand(toy):
    config, hw, region, dc = toy
    report = analyse(parse_usage(CSV, "usage.csv"), config.profiles, hw, region, dc)
    # February's row gives its own token totals: 1000 in and 50 out per request -> 1 + 5 = 6 s.
    assert report.daily[("2024-01-01", "flat")].energy_kwh.value == pytest.approx(kwh(11, 10))
    assert report.monthly[("2024-01", "flat")].energy_kwh.value == pytest.approx(kwh(11, 30))
    assert report.monthly[("2024-02", "flat")].energy_kwh.value == pytest.approx(kwh(6, 5))
    total = kwh(11, 30) + kwh(6, 5)
    assert report.total.energy_kwh.value == pytest.approx(total)
    assert report.total.carbon_g.value == pytest.approx(total * 500)
    assert report.total.water_l.value == 0          # a local machine uses no cooling water
    assert report.total.requests == 35 and report.by_profile["flat"].requests == 35
    assert report.total.tokens_out.value == pytest.approx(30 * 100 + 250)


def test_yaml_log_gives_the_same_report(toy):
    config, hw, region, dc = toy
    yaml_text = """usage:
  - {date: 2024-01-01, profile: flat, requests: 10}
  - {date: 2024-01-02, profile: flat, requests: 20}
  - {date: 2024-02-01, profile: flat, requests: 5, tokens_in: 5000, tokens_out: 250}
"""
    from_yaml = analyse(parse_usage(yaml_text, "usage.yaml"), config.profiles, hw, region, dc)
    from_csv = analyse(parse_usage(CSV, "usage.csv"), config.profiles, hw, region, dc)
    assert from_yaml.to_dict() == from_csv.to_dict()


def test_profile_ranges_carry_into_totals(toy):
    config, hw, region, dc = toy
    report = analyse(parse_usage("date,profile,requests\n2024-03-01,ranged,4\n", "u.csv"),
                     config.profiles, hw, region, dc)
    energy = report.total.energy_kwh
    assert (energy.low, energy.value, energy.high) == pytest.approx((kwh(10.5, 4), kwh(11, 4), kwh(12, 4)))


@pytest.mark.parametrize(("text", "name", "expected"), [
    ("date,profile,requests\n2024-13-01,flat,1\n", "u.csv",
     r"u\.csv: line 2: date must be YYYY-MM-DD, got '2024-13-01'"),
    ("date,profile,requests\n2024-01-01,ghost,1\n", "u.csv", r"u\.csv: line 2: unknown profile 'ghost'"),
    ("date,profile,requests\n2024-01-01,flat,-3\n", "u.csv", r"line 2: requests must be a whole number.*got '-3'"),
    ("date,profile,requests\n2024-01-01,flat,1.5\n", "u.csv", r"line 2: requests must be a whole number"),
    ("date,profile,requests,colour\n", "u.csv", r"header: unknown column 'colour'"),
    ("date,requests\n2024-01-01,1\n", "u.csv", r"header: missing column 'profile'"),
    ("date,profile,requests\n2024-01-01,flat,1,extra\n", "u.csv", r"line 2: more values than columns"),
    ("date,profile,requests,tokens_in\n2024-01-01,flat,0,100\n", "u.csv", r"token totals given for 0 requests"),
    ("date,profile,requests\n", "u.csv", r"has no rows"),
    ("- {date: 2024-01-01, profile: flat, requests: [\n", "u.yaml", r"u\.yaml: line 2, column 1: not valid YAML"),
    ("just text\n", "u.yaml", r"must be a list of rows"),
    ("- 3\n", "u.yaml", r"row 1: must be a mapping"),
    ("- {date: 2024-01-01, profile: flat}\n", "u.yaml", r"row 1: missing 'requests'"),
])
def test_bad_logs_name_the_row_and_value(toy, text, name, expected):
    config, hw, region, dc = toy
    with pytest.raises(ConfigError, match=expected):
        analyse(parse_usage(text, name), config.profiles, hw, region, dc, origin=name)
