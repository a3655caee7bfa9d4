"""Reading ``run.json`` (the manifest the collecting role writes beside the model files) back.

The readers of a finished run (``slm-energy compare``, ``slm-energy report``) need what only the
manifest holds, e.g. a sequential run's verdicts (its ``sequential`` block). The manifest is
untrusted input like any result file: read with the bounded JSON parser, and a manifest that
cannot be read is one line, never a refusal (the model files beside it are still compared).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from ..errors import SlmEnergyError
from ..textfile import parse_json, read_text
from .storage import RUN_MANIFEST

# A manifest holds settings, argv, the machine and the sequential block: a few kB. A thousand times
# that is still plausible; more is not a manifest.
MAX_MANIFEST_BYTES = 8 * 1024 * 1024


def read_manifests(sources: Sequence[str]) -> dict[str, dict[str, Any] | str]:
    """Folder -> its ``run.json``, for the folders the model files in ``sources`` came from.

    A folder without a ``run.json`` (a copied model file, an SLM Green Benchmark export) is left
    out; one whose manifest cannot be read, or is not an object with a ``run_id``, maps to the line
    that says why.
    """
    manifests: dict[str, dict[str, Any] | str] = {}
    for folder in dict.fromkeys(str(Path(source).parent) for source in sources):   # in order, once each
        path = Path(folder) / RUN_MANIFEST
        if not path.is_file():
            continue
        try:
            data = parse_json(read_text(path), str(path), max_bytes=MAX_MANIFEST_BYTES)
        except SlmEnergyError as exc:
            manifests[folder] = str(exc)
            continue
        run_id = data.get("run_id") if isinstance(data, dict) else None
        manifests[folder] = data if isinstance(run_id, str) and run_id else f"{path}: not a run manifest (no run_id)"
    return manifests
