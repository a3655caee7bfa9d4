"""Energy per request under load: the time-overlap rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slm_energy_plugin.workload.load import Throughput, share_by_overlap


def test_one_request_at_a_time_gets_its_own_time_and_the_idle_gaps_are_shared() -> None:
    # window 0..10; a: 0..4, b: 6..10; the gap 4..6 (20 %) is shared equally.
    a, b = share_by_overlap((0.0, 10.0), [(0.0, 4.0), (6.0, 10.0)])
    assert a.fraction == pytest.approx(0.4 + 0.1) and b.fraction == pytest.approx(0.4 + 0.1)
    assert a.mean_in_flight == pytest.approx(1.0)


def test_overlapping_requests_split_the_shared_slice() -> None:
    # a: 0..6, b: 2..8 in window 0..8. Slices: 0-2 a alone, 2-6 both, 6-8 b alone.
    a, b = share_by_overlap((0.0, 8.0), [(0.0, 6.0), (2.0, 8.0)])
    assert a.fraction == pytest.approx((2 + 4 / 2) / 8) and b.fraction == pytest.approx((4 / 2 + 2) / 8)
    assert a.mean_in_flight == pytest.approx((2 * 1 + 4 * 2) / 6)


def test_four_identical_requests_share_equally_with_four_in_flight() -> None:
    shares = share_by_overlap((0.0, 1.0), [(0.0, 1.0)] * 4)
    assert [s.fraction for s in shares] == pytest.approx([0.25] * 4)
    assert all(s.mean_in_flight == pytest.approx(4.0) for s in shares)


@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)), min_size=1, max_size=12))
def test_shares_always_add_up_to_the_window(raw: list[tuple[float, float]]) -> None:
    intervals = [(min(a, b), max(a, b)) for a, b in raw]
    shares = share_by_overlap((0.0, 100.0), intervals)
    assert sum(s.fraction for s in shares) == pytest.approx(1.0)
    assert all(s.fraction >= 0 for s in shares)


def test_throughput() -> None:
    t = Throughput(requests=8, errors=0, window_s=2.0, output_tokens=128)
    assert t.requests_per_s == 4.0 and t.output_tokens_per_s == 64.0
    assert Throughput(0, 0, 0.0, 0).requests_per_s is None
