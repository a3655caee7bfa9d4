"""The performance block read in one place: figures typed, missing or mistyped ones None."""

from __future__ import annotations

from slm_energy_plugin.results.performance import PerformanceView


def test_a_full_block_is_read_into_figures() -> None:
    view = PerformanceView.from_block({
        "torch_threads": 2, "weight_bytes": 1024, "query_rates": {"prefill_tokens_per_s_median": 100.0,
                                                                    "decode_tokens_per_s_median": 50},
        "mbu": {"queries": 0.2, "decode_protocol": None},
        "memory": {"load_rss_growth_mb": 3.0, "run_peak_rss_mb": None, "load_peak_rss_mb": 400.0},
        "bandwidth": {"gb_per_s": 15.0}, "load": {"batch_size": 8}})
    assert (view.torch_threads, view.weight_bytes, view.prefill_tokens_per_s, view.decode_tokens_per_s) == \
        (2.0, 1024.0, 100.0, 50.0)
    assert (view.mbu_queries, view.mbu_protocol, view.peak_rss_mb) == (0.2, None, 400.0)   # peak: the load's
    assert view.bandwidth["gb_per_s"] == 15.0 and view.load == {"batch_size": 8} and view.decode_protocol == {}


def test_old_or_hostile_blocks_give_none_not_errors() -> None:
    assert PerformanceView.from_block(None) == PerformanceView()
    odd = PerformanceView.from_block({"torch_threads": "2", "weight_bytes": True, "query_rates": [1, 2],
                                      "memory": "x", "load": 5})
    assert odd == PerformanceView()
