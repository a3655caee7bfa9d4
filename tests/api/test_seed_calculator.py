"""The seed carbon calculator's interfaces, as its users wrote them, against a real uvicorn on 127.0.0.1.

``uvicorn slm_energy_plugin.api:app`` (the seed's way of serving), its ``POST /calculate-raw``
payload verbatim, and ``/docs`` opened in headless Chromium with every host but 127.0.0.1
unresolvable: the page must render its operations from assets the server itself serves.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("fastapi_offline")

from tests.browser import headless_chromium  # noqa: E402

from .served_api import start_api  # noqa: E402

# The seed's README payload, key for key.
PAYLOAD = {
    "region": {"pue": 1.3, "carbon_intensity": 380},
    "hardware": {"power_gpu": 700, "power_cpu": 70, "eta_cpu": 0.15},
    "profile": {"name": "chatbot", "input_size": 2000, "output_size": 500, "throughput": 60, "count": 1000},
}
POWER_W = 700 * (1 - 0.15) + 70 * 0.15      # the seed's GPU share is 1 - eta_cpu


@pytest.fixture(scope="module")
def uvicorn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m uvicorn slm_energy_plugin.api:app`` exactly as the seed was started, on a free port."""
    tmp = tmp_path_factory.mktemp("uvicorn")
    server = start_api(tmp, "uvicorn", "slm_energy_plugin.api:app", cwd=tmp)
    try:
        yield server.url
    finally:
        assert server.stop() == 0
        assert "Traceback" not in server.log.read_text()


def test_calculate_raw_takes_the_seed_payload_and_answers_with_prefill_decode_physics(uvicorn_server: str) -> None:
    response = httpx.post(f"{uvicorn_server}/calculate-raw", json=PAYLOAD, timeout=10)
    assert response.status_code == 200, response.text
    data = response.json()
    # Default: prefill at 100 x the given throughput, decode at the throughput.
    time_s = 2000 / 6000 + 500 / 60
    kwh = POWER_W * time_s * 1.3 / 3.6e6
    assert data["formula"]["name"] == "prefill-decode"
    assert "input²" in data["formula"]["why_default_differs"] and "prefill" in data["formula"]["why_default_differs"]
    assert data["per_request"]["time_s"] == pytest.approx(time_s)
    assert data["per_request"]["energy_kwh"] == pytest.approx(kwh)
    assert data["per_request"]["carbon_gco2e"] == pytest.approx(kwh * 380)
    assert data["total"] == pytest.approx({"count": 1000, "energy_kwh": kwh * 1000, "carbon_gco2e": kwh * 380_000,
                                           "time_s": time_s * 1000})
    assert data["inputs"]["prefill_throughput"] == 6000 and "assumed" in data["inputs"]["prefill_throughput_source"]
    assert data["inputs"]["defaults_used"] == []
    assert data["energy_provenance"].startswith("estimated")
    # The seed's own answer keys are still there for its clients.
    assert data["results"]["total_gCO2e"] == pytest.approx(kwh * 380_000)
    assert data["results"]["total_kgCO2e"] == pytest.approx(kwh * 380)
    assert data["performance"]["formula_used"] == "prefill-decode"


def test_formula_seed_reproduces_the_old_numbers(uvicorn_server: str) -> None:
    data = httpx.post(f"{uvicorn_server}/calculate-raw", json={**PAYLOAD, "formula": "seed"}, timeout=10).json()
    time_s = (2000 ** 2 + 500) / 60
    kwh = POWER_W * time_s * 1.3 / 3.6e6
    assert data["formula"]["name"] == "seed" and data["formula"]["time_per_request"].startswith("(input_size²")
    assert data["per_request"]["time_s"] == pytest.approx(time_s)
    assert data["results"]["unit_gCO2e"] == pytest.approx(kwh * 380)
    assert data["results"]["total_kWh"] == pytest.approx(kwh * 1000)
    assert data["other_formula"]["name"] == "prefill-decode"
    # The seed's own unit test: input 300, output 50 at 1 token/s -> T = 90,050 s.
    check = {**PAYLOAD, "formula": "seed",
             "profile": {"name": "test_unit", "input_size": 300, "output_size": 50, "throughput": 1}}
    assert httpx.post(f"{uvicorn_server}/calculate-raw", json=check, timeout=10).json()[
        "per_request"]["time_s"] == 90_050


def test_left_out_fields_take_the_seed_defaults_and_say_so(uvicorn_server: str) -> None:
    body = {"region": {"carbon_intensity": 380}, "hardware": {}, "profile": {"input_size": 2000}}
    data = httpx.post(f"{uvicorn_server}/calculate-raw", json=body, timeout=10).json()
    assert "region.pue=1.3" in data["inputs"]["defaults_used"] and "profile.count=1" in data["inputs"]["defaults_used"]
    assert data["inputs"]["pue"] == 1.3 and data["inputs"]["output_size"] == 500


@pytest.mark.parametrize("body", [
    {**PAYLOAD, "region": {"pue": 0.5, "carbon_intensity": 380}},
    {**PAYLOAD, "hardware": {"power_gpu": 700, "power_cpu": 70, "eta_cpu": 1.5}},
    {**PAYLOAD, "profile": {**PAYLOAD["profile"], "throughput": 0}},
    {**PAYLOAD, "formula": "quadratic"},
    {k: v for k, v in PAYLOAD.items() if k != "profile"},
])
def test_bad_seed_payloads_are_one_line_422s(uvicorn_server: str, body: dict[str, Any]) -> None:
    response = httpx.post(f"{uvicorn_server}/calculate-raw", json=body, timeout=10)
    assert response.status_code == 422
    assert "\n" not in response.json()["detail"]


def _browser() -> Any:
    # Offline, whatever this machine can reach: every name but 127.0.0.1 fails to resolve.
    return headless_chromium(["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
                             logs=("browser", "performance"))


def _requested_urls(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_docs_render_offline_in_headless_chromium(uvicorn_server: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver = _browser()
    try:
        driver.get(f"{uvicorn_server}/docs")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_elements("css selector", ".opblock-summary-path"))
        paths = [e.text.replace("\u200b", "") for e in driver.find_elements("css selector", ".opblock-summary-path")]
        urls = _requested_urls(driver)
    finally:
        driver.quit()
    assert "/calculate-raw" in paths and "/estimate" in paths
    # chrome:// pages are the browser's own (its new-tab page in a fresh profile), not the network.
    leaving = [u for u in urls
               if not u.startswith((uvicorn_server, "data:", f"blob:{uvicorn_server}", "chrome://", "chrome-"))]
    assert leaving == [], leaving
    assert f"{uvicorn_server}/static-offline-docs/swagger-ui-bundle.js" in urls
