"""The estimator's web API, in-process (FastAPI TestClient): results, listings and 4xx on bad input."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from slm_energy_plugin.api.application import create_app  # noqa: E402
from slm_energy_plugin.carbon.analytics import analyse, parse_usage  # noqa: E402
from slm_energy_plugin.carbon.config import load_config  # noqa: E402
from slm_energy_plugin.carbon.service import build_workload, run_estimate  # noqa: E402
from slm_energy_plugin.carbon.formulas import Span  # noqa: E402

LIMIT = 10_000
RAW = {
    "tokens_in": 2000, "tokens_out": 500, "count": 1000,
    "region": {"name": "test grid", "intensity_g_per_kwh": 400, "source": "test"},
    "hardware": {"gpu_power_w": 400, "gpu_util": 0.5, "cpu_power_w": 100, "cpu_util": 0.25, "ram_power_w": 30,
                 "prefill_tokens_per_s": 4000, "decode_tokens_per_s": 50},
    "datacenter": {"pue": 1.2, "wue_l_per_kwh": 2.0},
}
CSV = b"date,profile,requests\n2024-01-01,chatbot,100\n2024-01-20,translation,40\n2024-02-01,chatbot,10\n"


@pytest.fixture(scope="module")
def config():
    return load_config(include_user=False)


@pytest.fixture(scope="module")
def client(config):
    with TestClient(create_app(config, max_upload_bytes=LIMIT)) as test_client:
        yield test_client


def test_health_and_docs(client):
    assert client.get("/health").json()["status"] == "ok"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/estimate", "/estimate/raw", "/analytics", "/regions", "/hardware", "/profiles"} <= set(paths)


def test_estimate_matches_the_cli_computation(client, config):
    body = {"tokens_in": 2000, "tokens_out": 500, "region": "usa", "hardware": "a100", "count": 1_000_000}
    response = client.post("/estimate", json=body)
    assert response.status_code == 200
    workload, notes = build_workload(config, tokens_in=Span.point(2000, "request"),
                                     tokens_out=Span.point(500, "request"), count=1_000_000)
    expected = run_estimate(config, workload, notes, region="usa", hardware="a100").to_dict()
    assert response.json() == expected


def test_estimate_with_only_a_profile(client, config):
    data = client.post("/estimate", json={"profile": "translation"}).json()
    assert data["workload"]["profile"] == "translation" and data["total"]["count"] == 1000
    assert data["region"]["key"] == config.defaults["region"]
    assert data["per_request"]["carbon_g"]["low"] < data["per_request"]["carbon_g"]["high"]


def test_raw_estimate_by_hand(client):
    data = client.post("/estimate/raw", json=RAW).json()
    # 2000/4000 + 500/50 = 10.5 s at 255 W, PUE 1.2: 3213 J per request.
    assert data["per_request"]["energy_kwh"]["value"] == pytest.approx(3213 / 3.6e6)
    assert data["per_request"]["carbon_g"]["value"] == pytest.approx(0.357)
    assert data["per_request"]["water_l"]["value"] == pytest.approx(0.0014875)
    assert data["total"]["carbon_g"]["value"] == pytest.approx(357.0)
    ranged = {**RAW, "tokens_in": {"value": 2000, "low": 1000, "high": 3000}}
    energy = client.post("/estimate/raw", json=ranged).json()["per_request"]["energy_kwh"]
    assert energy["low"] == pytest.approx(255 * 10.25 * 1.2 / 3.6e6)
    assert energy["high"] == pytest.approx(255 * 10.75 * 1.2 / 3.6e6)
    no_dc = {k: v for k, v in RAW.items() if k != "datacenter"}
    data = client.post("/estimate/raw", json=no_dc).json()
    assert data["datacenter"]["pue"]["value"] == 1.0 and data["per_request"]["water_l"] is None


@pytest.mark.parametrize(("path", "body", "expected"), [
    ("/estimate", {"tokens_in": -1, "tokens_out": 5}, "greater than or equal to 0"),
    ("/estimate", {"tokens_in": 10**9, "tokens_out": 5}, "less than or equal to 10000000"),
    ("/estimate", {"tokens_in": 10, "tokens_out": 5, "count": 0}, "greater than or equal to 1"),
    ("/estimate", {"tokens_in": "many"}, "valid integer"),
    ("/estimate", {"tokens_in": 10, "colour": "red"}, "Extra inputs are not permitted"),
    ("/estimate", {"region": "atlantis"}, "unknown region 'atlantis'"),
    ("/estimate", {"hardware": "a10"}, "did you mean 'a100'"),
    ("/estimate", {"pue": 0.5}, "greater than or equal to 1"),
    ("/estimate", {"region": ""}, "at least 1 character"),
    ("/estimate/raw", {**RAW, "hardware": {**RAW["hardware"], "gpu_util": 1.5}},
     "hardware.inline.gpu_util: must be at least 0 and at most 1, got 1.5"),
    ("/estimate/raw", {**RAW, "hardware": {**RAW["hardware"], "decode_tokens_per_s": 0}},
     "decode_tokens_per_s: must be greater than 0"),
    ("/estimate/raw", {**RAW, "tokens_in": {"value": 5, "low": 9}}, "tokens_in: needs low <= value <= high"),
    ("/estimate/raw", {**RAW, "region": {"intensity_g_per_kwh": 1e9, "source": "x"}},
     "intensity_g_per_kwh: must be at least 0 and at most 2000"),
    ("/estimate/raw", {**RAW, "datacenter": {"pue": 0.8}}, "datacenters.inline.pue: must be at least 1"),
    ("/estimate/raw", {"tokens_in": 1}, "Field required"),
])
def test_bad_bodies_are_422_with_a_clear_message(client, path, body, expected):
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert expected in str(response.json()["detail"])


def test_non_json_and_non_finite_bodies_are_4xx(client):
    for content in (b"{not json", b'{"tokens_in": NaN}', b'{"pue": Infinity}', b"", b"[" * 5000):
        response = client.post("/estimate", content=content, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, (content[:20], response.status_code)


def test_analytics_upload_matches_the_library(client, config):
    response = client.post("/analytics", files={"file": ("usage.csv", CSV, "text/csv")},
                           params={"region": "FRA", "hardware": "l4"})
    assert response.status_code == 200
    hw = config.hardware_profile("l4")
    expected = analyse(parse_usage(CSV.decode(), "usage.csv"), config.profiles, hw, config.region("FRA"),
                       config.datacenter(None, hw), origin="usage.csv").to_dict()
    assert response.json() == expected
    yaml_log = b"- {date: 2024-01-01, profile: chatbot, requests: 100}\n"
    response = client.post("/analytics", files={"file": ("log.txt", yaml_log)}, params={"format": "yaml"})
    assert response.status_code == 200 and response.json()["total"]["requests"] == 100


@pytest.mark.parametrize(("files", "params", "status", "expected"), [
    ({"file": ("u.yaml", b"- {date: 2024-01-01, profile: [\n")}, {}, 422, "u.yaml: line 2, column 1: not valid YAML"),
    ({"file": ("u.csv", b"date,profile,requests\n2024-01-01,ghost,1\n")}, {}, 422, "unknown profile 'ghost'"),
    ({"file": ("u.csv", b"\xff\xfe\x00bad")}, {}, 422, "not UTF-8 text"),
    ({"file": ("u.csv", CSV)}, {"region": "atlantis"}, 422, "unknown region 'atlantis'"),
    ({"file": ("u.csv", CSV)}, {"format": "xml"}, 422, "'csv' or 'yaml'"),
    ({"other": ("u.csv", CSV)}, {}, 422, "Field required"),
    ({"file": ("u.csv", b"x" * (LIMIT + 1))}, {}, 413, f"larger than {LIMIT:,} bytes"),
    ({"file": ("u.csv", b"x" * (LIMIT * 10))}, {}, 413, "request body larger than"),
])
def test_bad_uploads_are_4xx_with_a_clear_message(client, files, params, status, expected):
    response = client.post("/analytics", files=files, params=params)
    assert response.status_code == status
    assert expected in str(response.json()["detail"])


def test_chunked_oversized_body_is_refused(client):
    def chunks():
        for _ in range(20):
            yield b"x" * 10_000
    response = client.post("/estimate", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_listings(client, config):
    regions = client.get("/regions").json()
    assert {r["key"] for r in regions["named"]} == set(config.regions)
    assert any(r["key"] == "gcp:europe-west1" for r in regions["cloud"])
    assert any(c["code"] == "FRA" for c in regions["countries"]) and regions["world"]["key"] == "world"
    assert set(client.get("/hardware").json()) == set(config.hardware)
    assert set(client.get("/profiles").json()) == set(config.profiles)
    assert client.get("/datacenters").json()["typical"]["pue"]["value"] == 1.58
    assert client.get("/defaults").json() == dict(config.defaults)
