"""Start ``transformers serve`` (transformers' own OpenAI-compatible server) on 127.0.0.1, offline,
serving one of the project's tiny model folders."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from ..local_http import LOOPBACK, free_port
from ..server_process import ServerProcess


class ServeProcess(ServerProcess):
    def __init__(self, model_dir: Path, *extra: str) -> None:
        self.model_dir = model_dir
        exe = Path(sys.executable).with_name("transformers")
        if not exe.exists():
            found = shutil.which("transformers")
            if found is None:
                pytest.skip("the transformers CLI is not installed (pip install 'transformers[serving]')")
            exe = Path(found)
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
        port = free_port()
        # Its own process group, so the test can kill exactly this server and its children.
        super().__init__([str(exe), "serve", str(model_dir), "--host", LOOPBACK, "--port", str(port),
                          "--device", "cpu", "--dtype", "float32", *extra],
                         port, model_dir.parent / f"serve-{port}.log", what="transformers serve", env=env,
                         own_group=True, ready_s=90.0)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"
