"""The FastAPI application: estimates, usage analytics and the configured tables.

Every bad input is a 4xx with a one-line ``detail``: pydantic rejects wrong types and
absurd sizes (422), the estimator's validator rejects out-of-range physics and unknown
names (422), bodies over the size limit are refused before parsing (413), usage logs over
their bounds (YAML size, rows, time) are refused with 413, and uploads beyond the concurrent
limit get 429 with ``Retry-After`` (see :class:`UploadLimits`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi_offline import FastAPIOffline
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..carbon.analytics import analyse, detect_format, parse_usage
from ..carbon.config import EstimatorConfig, cloud_table, load_config, world_region
from ..carbon.formulas import Datacenter, Span, Workload, estimate
from ..carbon.schema import build_datacenter, build_hardware, build_region, span
from ..carbon.seed import SeedRequest, calculate
from ..carbon.service import build_workload, resolve, run_estimate
from ..energy.intensity import SOURCE as COUNTRY_SOURCE
from ..energy.intensity import country_table
from ..errors import OverBudget, SlmEnergyError
from .limits import BodySizeLimit
from .schemas import CalculateRawRequest, EstimateRequest, Name, RawEstimateRequest, raw

ORIGIN = "request body"
MULTIPART_OVERHEAD = 64 * 1024   # room for multipart framing and form fields around the file


@dataclass(frozen=True)
class UploadLimits:
    """Bounds of ``POST /analytics``: every upload costs CPU in this process, so each is bounded.

    Measured on a 2-core machine: CSV parses at ~0.5 s a MB, each row's estimate costs ~0.14 ms
    (10,000 rows ~1.4 s); PyYAML's pure-Python parser costs ~6.6 s a MB whatever the content, so
    YAML has its own, smaller size bound. Time is checked as the work goes (YAML tokens, rows).
    """

    max_bytes: int = 1_000_000
    max_yaml_bytes: int = 200_000
    max_rows: int = 10_000
    max_seconds: float = 5.0
    max_concurrent: int = 2


def create_app(config: EstimatorConfig | None = None, *, max_upload_bytes: int = 1_000_000,
               limits: UploadLimits | None = None) -> FastAPI:
    """Build the app around one validated configuration (loaded once, read-only afterwards).

    ``limits`` bounds ``POST /analytics`` (its ``max_bytes`` is ``max_upload_bytes``)."""
    config = config or load_config()
    limits = limits or UploadLimits(max_bytes=max_upload_bytes)
    max_upload_bytes = limits.max_bytes
    uploads_running = 0   # this app's event loop is the only writer: no lock needed
    # /docs from assets shipped in the fastapi-offline package, not a CDN: without network
    # FastAPI's default page stays blank. No /redoc: ReDoc's bundle still fetches its logo from
    # its vendor's CDN, and /docs covers the same operations.
    app = FastAPIOffline(
        redoc_url=None,
        title="slm-energy footprint estimator",
        version=__version__,
        description=("Energy (kWh), carbon (g CO2e) and water (L) of LLM requests: time = input tokens / prefill "
                     "throughput + output tokens / decode throughput; energy = (GPU W x util + CPU W x util + RAM W) "
                     "x time x PUE / 3.6e6; carbon = energy x grid intensity. Every figure comes with a low/high "
                     "range from the input ranges (a range, not a confidence interval)."),
    )
    app.add_middleware(BodySizeLimit, max_bytes=max_upload_bytes + MULTIPART_OVERHEAD)

    @app.exception_handler(SlmEnergyError)
    async def user_error(request: Request, exc: SlmEnergyError) -> JSONResponse:
        # Over a bound (rows, time): 413, the request is too large to serve; otherwise invalid input.
        return JSONResponse(status_code=413 if isinstance(exc, OverBudget) else 422, content={"detail": str(exc)})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes the input, and an echoed NaN or Infinity (accepted by
        # Python's JSON parser) cannot be serialised: that would turn a 422 into a 500.
        # The promised one-line ``detail``; the structured list stays under ``errors`` for tools.
        errors = _json_safe(jsonable_encoder(exc.errors()))
        return JSONResponse(status_code=422, content={"detail": one_line_detail(errors), "errors": errors})

    @app.get("/health", summary="Readiness probe")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.post("/estimate", summary="Estimate from configured region, hardware and usage profile")
    def post_estimate(body: EstimateRequest) -> dict[str, Any]:
        tokens = {name: None if value is None else Span.point(float(value), "request")
                  for name, value in (("tokens_in", body.tokens_in), ("tokens_out", body.tokens_out))}
        workload, notes = build_workload(config, profile=body.profile, count=body.count,
                                         batch_size=body.batch_size, **tokens)
        result = run_estimate(config, workload, notes, region=body.region, hardware=body.hardware,
                              datacenter=body.datacenter, pue=body.pue)
        return result.to_dict()

    @app.post("/estimate/raw", summary="Estimate with region, hardware, facility and workload given inline")
    def post_estimate_raw(body: RawEstimateRequest) -> dict[str, Any]:
        # model_dump gives the YAML form (numbers or {value, low, high, source}) the file validator takes.
        region = build_region("inline", _fields(body.region.model_dump(exclude_none=True)), ORIGIN, _no_resolver)
        hardware = build_hardware("inline", _fields(body.hardware.model_dump(exclude_none=True)), ORIGIN)
        notes: list[str] = []
        if body.datacenter is None:
            datacenter = Datacenter("inline", "no facility given", Span.point(1.0, "default"), None, "default")
            notes.append("no datacenter given: PUE 1.0 and no water figure")
        else:
            datacenter = build_datacenter("inline", _fields(body.datacenter.model_dump(exclude_none=True)), ORIGIN)
        workload = Workload(span(raw(body.tokens_in), ORIGIN, "tokens_in", "tokens_in", "request"),
                            span(raw(body.tokens_out), ORIGIN, "tokens_out", "tokens_out", "request"),
                            body.count, body.batch_size)
        return estimate(workload, hardware, region, datacenter, notes=tuple(notes)).to_dict()

    @app.post("/analytics", summary="Aggregate an uploaded usage log (CSV or YAML) into daily/monthly/total footprint")
    async def post_analytics(
        file: UploadFile = File(description="CSV or YAML: date, profile, requests[, tokens_in, tokens_out]"),
        region: Name | None = Query(None), hardware: Name | None = Query(None),
        datacenter: Name | None = Query(None), pue: float | None = Query(None, ge=1.0, le=5.0, allow_inf_nan=False),
        format: Literal["csv", "yaml"] | None = Query(None, description="default: from the file name, else sniffed"),
    ) -> Any:
        nonlocal uploads_running
        if uploads_running >= limits.max_concurrent:
            retry = max(1, math.ceil(limits.max_seconds))
            return JSONResponse(status_code=429, headers={"Retry-After": str(retry)}, content={
                "detail": f"busy: already analysing {limits.max_concurrent} usage log(s), the most it takes at "
                          f"once; retry in {retry} s"})
        uploads_running += 1
        try:
            return await _analyse_upload(file, region, hardware, datacenter, pue, format)
        finally:
            uploads_running -= 1

    async def _analyse_upload(file: UploadFile, region: str | None, hardware: str | None, datacenter: str | None,
                              pue: float | None, format: str | None) -> Any:
        content = await file.read(max_upload_bytes + 1)
        if len(content) > max_upload_bytes:
            return JSONResponse(status_code=413, content={
                "detail": f"usage log larger than {max_upload_bytes:,} bytes; split it or aggregate rows per day"})
        origin = _upload_name(file.filename)
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SlmEnergyError(f"{origin}: not UTF-8 text; upload a CSV or YAML file") from None
        fmt = format or detect_format(origin, text)
        if fmt == "yaml" and len(content) > limits.max_yaml_bytes:
            return JSONResponse(status_code=413, content={
                "detail": f"{origin}: YAML usage log larger than {limits.max_yaml_bytes:,} bytes; upload it as CSV "
                          f"(up to {max_upload_bytes:,} bytes), which parses many times faster"})
        hw, grid, facility = resolve(config, region=region, hardware=hardware, datacenter=datacenter, pue=pue)
        deadline = time.monotonic() + limits.max_seconds

        def report() -> dict[str, Any]:
            rows = parse_usage(text, origin, fmt, max_rows=limits.max_rows, deadline=deadline)
            return analyse(rows, config.profiles, hw, grid, facility, origin=origin, deadline=deadline).to_dict()
        # A large log takes a second or two: keep the event loop free for other requests.
        return await run_in_threadpool(report)

    @app.post("/calculate-raw", summary="The seed carbon calculator's payload: kWh and g CO2e per request and for count")
    def post_calculate_raw(body: CalculateRawRequest) -> dict[str, Any]:
        region, hardware, profile = body.region, body.hardware, body.profile
        return calculate(SeedRequest(
            pue=region.pue, carbon_intensity=region.carbon_intensity, power_gpu=hardware.power_gpu,
            power_cpu=hardware.power_cpu, eta_cpu=hardware.eta_cpu, name=profile.name,
            input_size=profile.input_size, output_size=profile.output_size, throughput=profile.throughput,
            count=profile.count, formula=body.formula, prefill_throughput=profile.prefill_throughput,
            defaults_used=body.defaults_used()))

    @app.get("/regions", summary="Named regions, CodeCarbon's cloud regions and countries")
    def get_regions() -> dict[str, Any]:
        return {
            "named": [r.to_dict() for r in config.regions.values()],
            "cloud": [r.to_dict() for r in cloud_table().values()],
            "countries": [{"code": code, "name": row.get("country_name", code),
                           "intensity_g_per_kwh": float(row["carbon_intensity"]), "year": row.get("year")}
                          for code, row in sorted(country_table().items())],
            "world": world_region().to_dict(),
            "countries_source": COUNTRY_SOURCE,
        }

    @app.get("/hardware", summary="Hardware profiles")
    def get_hardware() -> dict[str, Any]:
        return {key: hw.to_dict() for key, hw in config.hardware.items()}

    @app.get("/profiles", summary="Usage profiles")
    def get_profiles() -> dict[str, Any]:
        return {key: profile.to_dict() for key, profile in config.profiles.items()}

    @app.get("/datacenters", summary="Facility profiles (PUE, WUE)")
    def get_datacenters() -> dict[str, Any]:
        return {key: dc.to_dict() for key, dc in config.datacenters.items()}

    @app.get("/defaults", summary="What an estimate uses when a field is left out")
    def get_defaults() -> dict[str, str]:
        return dict(config.defaults)

    return app


@lru_cache(maxsize=1)
def default_app() -> FastAPI:
    """The app ``uvicorn slm_energy_plugin.api:app`` serves: built-in configuration plus the user's
    files and $SLM_ENERGY_ESTIMATOR_CONFIG, loaded once."""
    return create_app()


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _fields(data: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    return {name: (value, ORIGIN) for name, value in data.items()}


def _no_resolver(kind: str, argument: str, key: str) -> Any:
    raise SlmEnergyError("inline regions give intensity_g_per_kwh; use POST /estimate for named regions")


def _upload_name(filename: str | None) -> str:
    name = os.path.basename(filename or "") if filename else ""
    printable = "".join(ch for ch in name if ch.isprintable())[:100]
    return printable or "upload"


def one_line_detail(errors: Any) -> str:
    """pydantic's error list as one sentence: ``tokens_in: Input should be greater than or equal to 0``."""
    parts = []
    for error in errors[:5] if isinstance(errors, list) else []:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if isinstance(errors, list) and len(errors) > 5 else ""
    return "; ".join(parts) + more if parts else "invalid request"
