"""``POST /analytics`` is bounded: size (before parsing), YAML size, rows, time and concurrent uploads,
each refusal one JSON ``detail`` line. A real uvicorn server on 127.0.0.1 runs the real app."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterator

import pytest

httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

from slm_energy_plugin.api.application import UploadLimits, create_app  # noqa: E402
from slm_energy_plugin.carbon.config import load_config  # noqa: E402

from ..local_http import LOOPBACK, free_port  # noqa: E402

# The YAML 1.1 "billion laughs": nine levels of nine aliases, 9**9 values once expanded.
BILLION_LAUGHS = b"""\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def usage_csv(rows: int) -> bytes:
    lines = ["date,profile,requests"] + [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},chatbot,{i % 1000}"
                                         for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def usage_yaml(rows: int) -> bytes:
    return "".join(f"- {{date: 2024-01-{1 + i % 28:02d}, profile: chatbot, requests: {i}}}\n"
                   for i in range(rows)).encode()


@pytest.fixture(scope="module")
def config() -> Any:
    return load_config(include_user=False)


@pytest.fixture
def serve(config: Any) -> Iterator[Callable[[UploadLimits], str]]:
    """Start the app with the given limits under uvicorn on a free loopback port; its base URL."""
    servers: list[tuple[Any, threading.Thread]] = []

    def start(limits: UploadLimits) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(config, limits=limits), host=LOOPBACK, port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return f"http://{LOOPBACK}:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def post(base: str, name: str, content: bytes, **params: str) -> Any:
    return httpx.post(f"{base}/analytics", files={"file": (name, content)}, params=params, timeout=120)


def test_an_oversized_body_is_refused_before_parsing(serve: Callable[[UploadLimits], str]) -> None:
    base = serve(UploadLimits(max_bytes=1_000_000))
    started = time.process_time()
    response = post(base, "usage.csv", b"date,profile,requests\n" + b"2024-01-01,chatbot,5\n" * 60_000)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("request body larger than")
    assert time.process_time() - started < 2   # refused, not parsed (6.6 s CPU before)


def test_a_large_yaml_log_is_refused_before_parsing_and_told_to_use_csv(serve: Callable[[UploadLimits], str]) -> None:
    base = serve(UploadLimits())
    started = time.monotonic()
    response = post(base, "usage.yaml", usage_yaml(6_000) + b"- [unclosed\n")   # ~300 KB, invalid at the end
    assert response.status_code == 413, response.text
    assert "YAML usage log larger than 200,000 bytes; upload it as CSV" in response.json()["detail"]
    assert time.monotonic() - started < 2


def test_a_yaml_bomb_is_one_line(serve: Callable[[UploadLimits], str]) -> None:
    base = serve(UploadLimits())
    response = post(base, "usage.yaml", BILLION_LAUGHS)
    assert response.status_code == 422
    [line] = response.json()["detail"].splitlines()
    assert "usage.yaml" in line and "alias" in line


def test_too_many_rows_are_refused(serve: Callable[[UploadLimits], str]) -> None:
    base = serve(UploadLimits(max_rows=1_000))
    assert post(base, "usage.csv", usage_csv(1_000)).status_code == 200
    response = post(base, "usage.csv", usage_csv(1_001))
    assert response.status_code == 413
    assert response.json()["detail"] == ("usage.csv: more than 1,000 rows; at most 1,000 are accepted (aggregate "
                                         "rows per day and profile, or split the log)")
    response = post(base, "usage.yaml", usage_yaml(1_001))
    assert response.status_code == 413 and "more than 1,000 rows" in response.json()["detail"]


@pytest.mark.parametrize("name, content", [("usage.csv", usage_csv(20_000)), ("usage.yaml", usage_yaml(3_000))])
def test_work_past_the_time_budget_is_refused(serve: Callable[[UploadLimits], str], name: str, content: bytes) -> None:
    base = serve(UploadLimits(max_rows=100_000, max_seconds=0.05))
    started = time.monotonic()
    response = post(base, name, content)
    assert response.status_code == 413, response.text
    assert response.json()["detail"].startswith(f"{name}: took longer than its time budget to process; refused")
    assert time.monotonic() - started < 5   # stopped at the budget, not after the whole log


def test_concurrent_uploads_over_the_limit_get_429_with_retry_after(serve: Callable[[UploadLimits], str]) -> None:
    base = serve(UploadLimits(max_rows=100_000, max_seconds=120, max_concurrent=1))
    slow: dict[str, Any] = {}
    first = threading.Thread(target=lambda: slow.update(response=post(base, "big.csv", usage_csv(40_000))))
    first.start()
    time.sleep(1.0)   # the first upload (~1 MB, seconds of work) is being analysed
    assert first.is_alive(), "the first upload finished too fast to overlap"
    busy = post(base, "small.csv", usage_csv(10))
    assert busy.status_code == 429
    assert busy.headers["Retry-After"] == "120"
    assert busy.json()["detail"] == ("busy: already analysing 1 usage log(s), the most it takes at once; "
                                     "retry in 120 s")
    first.join()
    assert slow["response"].status_code == 200
    assert post(base, "small.csv", usage_csv(10)).status_code == 200   # the slot is free again
