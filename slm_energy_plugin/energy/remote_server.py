"""The "meter" of a model served by another machine that no meter here reads: time only.

This machine's meter would measure the client (mostly waiting on the network), not the request;
its figures in the record would read as the request's energy. So the record's energy is
``not-measured`` and the description says how to measure it (the serving host's exporter through
``--energy-meter prometheus=URL``). Windows still time the request.
"""

from __future__ import annotations

from typing import Any

from .null_meter import NOT_MEASURED, NullMeter


class RemoteServerMeter(NullMeter):
    name = "not-measured (remote server)"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url        # credentials already stripped by the caller

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": None, "methods": dict(NOT_MEASURED), "provenance": "none",
                "description": f"the model runs at {self.base_url}, another machine that no meter here reads: "
                               "its energy is not measured (use --energy-meter prometheus=URL on the serving "
                               "host's exporter); time and tokens only"}
