"""The web API served by a real uvicorn process on 127.0.0.1, started the documented way."""

from __future__ import annotations

from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("fastapi")

from ..server_process import ServerProcess  # noqa: E402

from .served_api import start_api  # noqa: E402

LIMIT = 50_000


def start_server(tmp_dir: Path) -> ServerProcess:
    """``slm-energy serve`` in a subprocess on a free port; returns once /health answers."""
    return start_api(tmp_dir, "slm_energy_plugin.cli", "serve", "--max-upload-bytes", str(LIMIT),
                     "--log-level", "info")


# Named as tests/conftest.py's INTEGRATION_FIXTURES name a real server, so its tests are integration tests.
@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("server"))
    try:
        yield running.url
    finally:
        running.stop()


def test_estimate_over_http(uvicorn_server):
    base = uvicorn_server
    response = httpx.post(f"{base}/estimate", json={"tokens_in": 2000, "tokens_out": 500, "region": "usa",
                                                    "hardware": "a100", "count": 1_000_000}, timeout=10)
    assert response.status_code == 200
    data = response.json()
    assert data["total"]["count"] == 1_000_000 and data["region"]["iso_code"] == "USA"
    assert data["per_request"]["carbon_g"]["low"] <= data["per_request"]["carbon_g"]["value"]
    assert httpx.get(f"{base}/docs", timeout=10).status_code == 200


def test_bad_input_over_http_is_4xx(uvicorn_server):
    base = uvicorn_server
    assert httpx.post(f"{base}/estimate", json={"tokens_in": -3}, timeout=10).status_code == 422
    response = httpx.post(f"{base}/estimate", json={"region": "atlantis"}, timeout=10)
    assert response.status_code == 422 and "unknown region" in response.json()["detail"]
    upload = httpx.post(f"{base}/analytics", files={"file": ("u.yaml", b"- {date: [\n")}, timeout=10)
    assert upload.status_code == 422 and "not valid YAML" in upload.json()["detail"]


def test_oversized_uploads_are_refused_with_and_without_content_length(uvicorn_server):
    base = uvicorn_server
    big = httpx.post(f"{base}/analytics", files={"file": ("u.csv", b"x" * (LIMIT * 3))}, timeout=10)
    assert big.status_code == 413

    def chunks():
        for _ in range(40):
            yield b"y" * 4096
    chunked = httpx.post(f"{base}/estimate", content=chunks(), headers={"content-type": "application/json"},
                         timeout=10)
    assert chunked.status_code == 413
    ok = httpx.post(f"{base}/analytics", files={"file": ("u.csv", b"date,profile,requests\n2024-01-01,chatbot,5\n")},
                    timeout=10)
    assert ok.status_code == 200 and ok.json()["total"]["requests"] == 5


@pytest.mark.integration   # its own real server, to stop it: no fixture marks it
def test_shuts_down_cleanly_on_sigint(tmp_path):
    running = start_server(tmp_path)
    assert httpx.get(f"{running.url}/hardware", timeout=10).status_code == 200
    assert running.stop() == 0
    text = running.log.read_text()
    assert "Application startup complete" in text and "Finished server process" in text
    assert "Traceback" not in text
