"""Property-based fuzzing of the web API: no input may produce a server error (5xx).

Two generators, both bounded so the file runs in seconds:
- schemathesis derives valid and invalid requests from the app's OpenAPI schema;
- hypothesis throws JSON the schema does not describe (NaN, Infinity, huge numbers, wrong
  nesting, near-miss field names) and arbitrary bytes as usage-log uploads.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from slm_energy_plugin.api.application import create_app  # noqa: E402
from slm_energy_plugin.carbon.config import load_config  # noqa: E402

APP = create_app(load_config(include_user=False), max_upload_bytes=20_000)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@SCHEMA.parametrize()
@FUZZ
def test_schema_driven_requests_never_cause_a_server_error(case):
    case.call_and_validate(checks=[not_a_server_error])


FIELDS = ["tokens_in", "tokens_out", "count", "batch_size", "region", "hardware", "datacenter", "pue", "profile",
          "intensity_g_per_kwh", "source", "name", "gpu_power_w", "gpu_util", "cpu_power_w", "cpu_util",
          "ram_power_w", "prefill_tokens_per_s", "decode_tokens_per_s", "wue_l_per_kwh", "value", "low", "high",
          "year", "gpu_count",
          # the seed calculator's POST /calculate-raw
          "carbon_intensity", "power_gpu", "power_cpu", "eta_cpu", "input_size", "output_size", "throughput",
          "prefill_throughput", "formula"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["usa", "FRA", "gcp:europe-west1", "a100", "chatbot", "local", "world", "1e400", ""]),
)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=6)),
    max_leaves=25)
CLIENT = TestClient(APP)


@FUZZ
@given(path=st.sampled_from(["/estimate", "/estimate/raw", "/calculate-raw"]), body=JSON)
def test_arbitrary_json_never_causes_a_server_error(path, body):
    response = CLIENT.post(path, content=json.dumps(body, allow_nan=True),
                           headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text


ROW = st.fixed_dictionaries({
    "date": st.one_of(st.dates().map(str), st.text(max_size=12)),
    "profile": st.one_of(st.sampled_from(["chatbot", "translation", "ghost"]), st.text(max_size=8)),
    "requests": st.one_of(st.integers(-5, 10**16), st.text(max_size=6)),
}, optional={"tokens_in": st.integers(-5, 10**25), "tokens_out": st.one_of(st.integers(-5, 10**12), st.floats())})


@FUZZ
@given(rows=st.lists(ROW, max_size=5), raw=st.binary(max_size=300), as_csv=st.booleans(), use_raw=st.booleans())
def test_arbitrary_usage_uploads_never_cause_a_server_error(rows, raw, as_csv, use_raw):
    if use_raw:
        content = raw
    elif as_csv:
        lines = ["date,profile,requests,tokens_in,tokens_out"] + [
            ",".join(str(r.get(k, "")) for k in ("date", "profile", "requests", "tokens_in", "tokens_out"))
            for r in rows]
        content = "\n".join(lines).encode()
    else:
        content = json.dumps(rows, allow_nan=True).encode()   # JSON is YAML
    name = "usage.csv" if as_csv else "usage.yaml"
    response = CLIENT.post("/analytics", files={"file": (name, content)})
    assert response.status_code < 500, response.text
