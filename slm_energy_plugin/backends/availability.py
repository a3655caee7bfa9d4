"""Can a model be had right now? Decided before loading, fast, once per session.

Plain transformers retries a hub it cannot reach for about 50 s per model. Here the
local cache is looked at first, ``HF_HUB_OFFLINE`` and ``--energy-offline`` are
honoured, and otherwise one probe of the hub (capped at a few seconds, DNS included)
gives the verdict for the whole session.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .spec import ModelSpec

PROBE_TIMEOUT_S = 3.0
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")


@dataclass(frozen=True)
class Availability:
    available: bool
    # Where to load from without touching the network (a cached snapshot or local folder).
    local_path: Path | None = None
    # One line: why it is unavailable and how to get it; or how it will be fetched.
    reason: str = ""


@dataclass(frozen=True)
class HubVerdict:
    reachable: bool
    detail: str
    seconds: float


def probe_hub(endpoint: str, timeout_s: float = PROBE_TIMEOUT_S) -> HubVerdict:
    """One small API request, in a thread so a hanging DNS lookup cannot exceed the cap.

    Only a successful answer counts: sandboxes and captive proxies answer requests to
    unreachable hosts with their own 4xx pages, which must not pass for the hub.
    """
    outcome: dict[str, object] = {}

    def attempt() -> None:
        try:
            request = urllib.request.Request(endpoint.rstrip("/") + "/api/models?limit=1")
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                outcome["ok"] = 200 <= response.status < 400
                outcome["error"] = f"answered HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            outcome["error"] = f"answered HTTP {exc.code}, not the hub's API"
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            reason = getattr(exc, "reason", exc)
            # The socket's own timeout and the join below race (same cap): one wording for both.
            outcome["timeout" if isinstance(reason, TimeoutError) else "error"] = reason

    start = time.perf_counter()
    worker = threading.Thread(target=attempt, daemon=True, name="slm-energy-hub-probe")
    worker.start()
    worker.join(timeout_s)
    seconds = time.perf_counter() - start
    if outcome.get("ok"):
        return HubVerdict(True, "reachable", seconds)
    timed_out = worker.is_alive() or "timeout" in outcome
    detail = f"no answer within {timeout_s:g} s" if timed_out else str(outcome.get("error") or "no answer")
    return HubVerdict(False, detail, seconds)


class HubProbe:
    """Caches the hub verdict for the session: the first hub model pays for the probe, no other does."""

    def __init__(self, endpoint: str | None = None, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        if endpoint is None:
            from huggingface_hub import constants

            endpoint = constants.ENDPOINT
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._verdict: HubVerdict | None = None
        self._lock = threading.Lock()

    def verdict(self) -> HubVerdict:
        with self._lock:
            if self._verdict is None:
                self._verdict = probe_hub(self.endpoint, self.timeout_s)
            return self._verdict


def cached_snapshot(hub_id: str, revision: str | None, cache_dir: Path | None = None) -> Path | None:
    """The cached snapshot folder of a hub model, if its config and weights are all there."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(hub_id, revision=revision, local_files_only=True, cache_dir=cache_dir))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None
    if not (folder / "config.json").is_file():
        return None
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        return None
    return folder


def how_to_get(spec: ModelSpec) -> str:
    revision = f" --revision {spec.revision}" if spec.revision else ""
    return f"download it once with `hf download {spec.hub_id}{revision}` on a machine with network access"


def check_availability(spec: ModelSpec, offline: bool, probe: HubProbe) -> Availability:
    if spec.source == "tiny":
        return Availability(True, reason="built locally by slm-energy")
    if spec.source == "random":
        return Availability(True, reason=f"random weights built in memory; shape: {spec.shape_origin}")
    if spec.source == "local":
        path = spec.local_path
        if path is not None and (path / "config.json").is_file():
            return Availability(True, local_path=path)
        return Availability(False, reason=f"local model folder {path} has no config.json")
    snapshot = cached_snapshot(str(spec.hub_id), spec.revision)
    if snapshot is not None:
        return Availability(True, local_path=snapshot, reason="found in the local Hugging Face cache")
    if offline:
        return Availability(False, reason=(
            f"{spec.hub_id} is not in the local Hugging Face cache and offline mode is on "
            f"(--energy-offline or HF_HUB_OFFLINE); {how_to_get(spec)}"))
    verdict = probe.verdict()
    if not verdict.reachable:
        return Availability(False, reason=(
            f"{spec.hub_id} is not cached and the Hugging Face hub is unreachable ({verdict.detail}, "
            f"checked in {verdict.seconds:.1f} s); {how_to_get(spec)}"))
    return Availability(True, reason=f"will be downloaded from {probe.endpoint}")
