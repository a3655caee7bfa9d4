"""The web API served by a real process on 127.0.0.1, as its users start it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..local_http import LOOPBACK, free_port
from ..server_process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def start_api(tmp: Path, module: str, *args: str, cwd: Path = ROOT) -> ServerProcess:
    """``python -m MODULE ARGS --host 127.0.0.1 --port PORT`` on a free port, this checkout's package
    on its path and its user configuration folder inside ``tmp`` (its log too); running once
    ``/health`` answers. Stop it with ``stop()`` (Ctrl-C, uvicorn's graceful shutdown)."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CONFIG_HOME": str(tmp / "xdg")}
    return ServerProcess([sys.executable, "-m", module, *args, "--host", LOOPBACK, "--port", str(port)],
                         port, tmp / "server.log", what=module, env=env, cwd=cwd)
