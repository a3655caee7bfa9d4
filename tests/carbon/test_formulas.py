"""The estimator's formulas on hand-computed cases, and the range claim checked by brute force."""

from __future__ import annotations

import itertools
import sys
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm_energy_plugin.carbon.formulas import (
    RANGE_NOTE, Datacenter, Hardware, Region, Span, Workload, carbon_g, energy_kwh, estimate, it_power_w,
    request_time_s, water_l,
)
from slm_energy_plugin.errors import ConfigError


def hardware(**overrides: Span) -> Hardware:
    fields = dict(gpu_power_w=Span.point(400), gpu_util=Span.point(0.5), cpu_power_w=Span.point(100),
                  cpu_util=Span.point(0.25), ram_power_w=Span.point(30), prefill_tokens_per_s=Span.point(4000),
                  decode_tokens_per_s=Span.point(50))
    fields.update(overrides)
    return Hardware(key="hw", name="test machine", **fields)


REGION = Region("grid", "Test grid", Span.point(400), "test")
DC = Datacenter("dc", "Test DC", Span.point(1.2), Span.point(2.0), "test")


def test_request_time_is_prefill_plus_decode():
    # 2000 / 4000 + 500 / 50 = 0.5 + 10
    assert request_time_s(2000, 500, 4000, 50) == pytest.approx(10.5)
    assert request_time_s(0, 0, 4000, 50) == 0


def test_power_energy_carbon_water_by_hand():
    power = it_power_w(400, 0.5, 100, 0.25, 30)          # 200 + 25 + 30
    assert power == pytest.approx(255)
    assert it_power_w(400, 0.5, 100, 0.25, 30, gpu_count=2) == pytest.approx(455)
    energy = energy_kwh(255, 10.5, 1.2)                   # 255 W x 10.5 s x 1.2 = 3213 J
    assert energy == pytest.approx(3213 / 3.6e6)
    assert energy_kwh(255, 10.5, 1.2, batch_size=4) == pytest.approx(3213 / 3.6e6 / 4)
    assert carbon_g(energy, 400) == pytest.approx(3213 / 3.6e6 * 400)   # 0.357 g
    assert water_l(energy, 1.2, 2.0) == pytest.approx(2677.5 / 3.6e6 * 2.0)  # IT energy x WUE


def test_point_estimate_matches_hand_computation():
    est = estimate(Workload(Span.point(2000), Span.point(500), count=1000), hardware(), REGION, DC)
    assert est.time_s.value == pytest.approx(10.5)
    assert est.power_w.value == pytest.approx(255)
    assert est.energy_kwh.value == pytest.approx(8.925e-4)
    assert est.carbon_g.value == pytest.approx(0.357)
    assert est.water_l.value == pytest.approx(0.0014875)
    assert est.total("energy_kwh").value == pytest.approx(0.8925)
    assert est.total("carbon_g").value == pytest.approx(357.0)
    assert est.total("time_s").value == pytest.approx(10500)
    for span in (est.time_s, est.energy_kwh, est.carbon_g):
        assert span.low == span.high == span.value   # point inputs give a point output


def test_range_corners_by_hand():
    hw = hardware(gpu_util=Span(0.5, 0.25, 0.75), prefill_tokens_per_s=Span(4000, 2000, 5000))
    dc = Datacenter("dc", "Test DC", Span(1.2, 1.1, 1.5), None)
    est = estimate(Workload(Span(2000, 1000, 3000), Span.point(500)), hw, REGION, dc)
    # low: 1000/5000 + 10 = 10.2 s at 155 W, PUE 1.1; high: 3000/2000 + 10 = 11.5 s at 355 W, PUE 1.5
    assert (est.time_s.low, est.time_s.high) == pytest.approx((10.2, 11.5))
    assert (est.power_w.low, est.power_w.high) == pytest.approx((155, 355))
    assert est.energy_kwh.low == pytest.approx(155 * 10.2 * 1.1 / 3.6e6)
    assert est.energy_kwh.high == pytest.approx(355 * 11.5 * 1.5 / 3.6e6)
    assert est.water_l is None
    data = json.loads(json.dumps(est.to_dict(), allow_nan=False))
    assert data["range_note"] == RANGE_NOTE and "not a confidence interval" in RANGE_NOTE
    assert data["total"]["water_l"] is None


def test_batch_shares_energy_not_time():
    single = estimate(Workload(Span.point(100), Span.point(100)), hardware(), REGION, DC)
    batched = estimate(Workload(Span.point(100), Span.point(100), count=8, batch_size=4), hardware(), REGION, DC)
    assert batched.time_s.value == pytest.approx(single.time_s.value)
    assert batched.energy_kwh.value == pytest.approx(single.energy_kwh.value / 4)
    assert batched.total("time_s").value == pytest.approx(single.time_s.value * 2)


def test_span_rejects_inverted_or_infinite_ranges():
    with pytest.raises(ConfigError, match="low <= value <= high"):
        Span(1.0, 2.0, 3.0)
    with pytest.raises(ConfigError, match="finite"):
        Span(float("inf"), 0, float("inf"))


def _spans(lo: float, hi: float) -> st.SearchStrategy[Span]:
    return st.lists(st.floats(lo, hi, allow_nan=False), min_size=3, max_size=3).map(sorted).map(
        lambda v: Span(v[1], v[0], v[2]))


def _within(x: float, low: float, high: float) -> bool:
    """low <= x <= high up to rounding: relative 1e-9, and absolute below the normal floats, where
    subnormals keep few significant digits (8.75153e-319 vs 8.7515e-319 are the same product)."""
    tol = 1e-9 * max(abs(low), abs(high)) + 4 * sys.float_info.min
    return low - tol <= x <= high + tol


def test_within_accepts_subnormal_rounding_and_rejects_a_real_excess() -> None:
    assert _within(8.7515e-319, 8.75153e-319, 9e-319)
    assert not _within(1.01, 0.0, 1.0)
    assert not _within(-1e-6, 0.0, 1.0)


@settings(max_examples=60, deadline=None, database=None)
@given(tin=_spans(0, 1e5), tout=_spans(0, 1e4), gpu=_spans(0, 1000), util=_spans(0, 1), cpu=_spans(0, 300),
       ram=_spans(0, 100), pre=_spans(1, 1e5), dec=_spans(0.5, 500), pue=_spans(1, 3), ci=_spans(0, 1000),
       wue=_spans(0, 5))
def test_range_bounds_every_combination_of_inputs(tin, tout, gpu, util, cpu, ram, pre, dec, pue, ci, wue):
    """The claim 'low/high are the extremes the input ranges allow': evaluate the formulas at every
    corner of the input box (2^11 combinations) and check each lies within [low, high]."""
    hw = Hardware("h", "h", gpu, util, cpu, util, ram, pre, dec)
    region, dc = Region("r", "r", ci, "t"), Datacenter("d", "d", pue, wue)
    est = estimate(Workload(tin, tout), hw, region, dc)
    for span in (est.time_s, est.energy_kwh, est.carbon_g, est.water_l):
        assert _within(span.value, span.low, span.high)
    ends = lambda s: (s.low, s.high)  # noqa: E731
    for a, b, g, u, c, r, p, d, e, i, w in itertools.islice(itertools.product(
            *(ends(s) for s in (tin, tout, gpu, util, cpu, ram, pre, dec, pue, ci, wue))), 0, None, 7):
        time = request_time_s(a, b, p, d)
        energy = energy_kwh(it_power_w(g, u, c, u, r), time, e)
        tol = 1e-9 * max(1.0, est.energy_kwh.high)
        assert est.energy_kwh.low - tol <= energy <= est.energy_kwh.high + tol
        carbon = carbon_g(energy, i)
        assert _within(carbon, est.carbon_g.low, est.carbon_g.high)
        assert _within(water_l(energy, e, w), est.water_l.low, est.water_l.high)
