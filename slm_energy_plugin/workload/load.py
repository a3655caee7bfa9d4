"""Energy per request under load: one window's energy shared among overlapping requests.

Pure (no I/O). The rule, stated once: the window is cut at every request's start and end;
each slice's energy (window energy × slice length / window length, i.e. constant power across
the window) is split equally among the requests in flight during that slice. Slices with none
in flight (before the first request, gaps, after the last) are split equally among all
requests. The shares add up to the window's energy exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

ENERGY_RULE = ("window energy shared by time overlap: each slice between request starts/ends is split "
               "equally among the requests in flight; idle slices equally among all requests")


@dataclass(frozen=True)
class Share:
    fraction: float          # of the window's energy
    mean_in_flight: float    # time-weighted requests in flight (itself included) during this request


def share_by_overlap(window: tuple[float, float], intervals: list[tuple[float, float]]) -> list[Share]:
    """Fractions of the window's energy per request (same order as ``intervals``), summing to 1."""
    n = len(intervals)
    if n == 0:
        return []
    begin, end = window
    length = end - begin
    if length <= 0:
        return [Share(1.0 / n, 1.0) for _ in intervals]
    clipped = [(max(begin, min(a, end)), max(begin, min(b, end))) for a, b in intervals]
    cuts = sorted({begin, end, *(a for a, _ in clipped), *(b for _, b in clipped)})
    fractions = [0.0] * n
    weighted = [0.0] * n
    idle = 0.0
    for left, right in zip(cuts, cuts[1:]):
        slice_fraction = (right - left) / length
        active = [i for i, (a, b) in enumerate(clipped) if a <= left and b >= right and b > a]
        if not active:
            idle += slice_fraction
            continue
        for i in active:
            fractions[i] += slice_fraction / len(active)
            weighted[i] += (right - left) * len(active)
    shares = []
    for i, (a, b) in enumerate(clipped):
        duration = b - a
        shares.append(Share(fractions[i] + idle / n, weighted[i] / duration if duration > 0 else 1.0))
    return shares


@dataclass(frozen=True)
class Throughput:
    requests: int
    errors: int
    window_s: float
    output_tokens: int

    @property
    def requests_per_s(self) -> float | None:
        return self.requests / self.window_s if self.window_s > 0 else None

    @property
    def output_tokens_per_s(self) -> float | None:
        return self.output_tokens / self.window_s if self.window_s > 0 else None

    def to_dict(self) -> dict[str, float | int | None]:
        return {"requests": self.requests, "errors": self.errors, "window_s": self.window_s,
                "output_tokens": self.output_tokens, "requests_per_s": self.requests_per_s,
                "output_tokens_per_s": self.output_tokens_per_s}
