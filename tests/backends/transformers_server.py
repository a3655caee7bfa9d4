"""Start ``transformers serve`` (transformers' own OpenAI-compatible server) on 127.0.0.1, offline,
serving one of the project's tiny model folders."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    def __init__(self, model_dir: Path, *extra: str) -> None:
        self.model_dir = model_dir
        self.port = free_port()
        exe = Path(sys.executable).with_name("transformers")
        if not exe.exists():
            found = shutil.which("transformers")
            if found is None:
                pytest.skip("the transformers CLI is not installed (pip install 'transformers[serving]')")
            exe = Path(found)
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", OMP_NUM_THREADS="1")
        self.log = open(model_dir.parent / f"serve-{self.port}.log", "w")
        # Its own process group, so the test can kill exactly this server and its children.
        self.proc = subprocess.Popen(
            [str(exe), "serve", str(model_dir), "--host", "127.0.0.1", "--port", str(self.port),
             "--device", "cpu", "--dtype", "float32", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.kill()   # a server that failed to come up must not outlive the test
            raise

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _wait_ready(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {self.proc.returncode}: "
                                   + Path(self.log.name).read_text()[-800:])
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1.0).status_code == 200:
                    return
            except Exception:  # noqa: BLE001 - not listening yet (any transport error)
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError("transformers serve did not become ready in time")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()
