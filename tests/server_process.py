"""A real server in a process of its own on 127.0.0.1 (uvicorn, ``slm-energy serve``, ``transformers
serve``): started, waited for until its ``/health`` answers, stopped the way its users stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Mapping, Sequence

import httpx
import pytest

from .local_http import LOOPBACK

LOG_TAIL = 4000   # the characters of a server's log a failed start shows


class ServerProcess:
    """``argv`` started with its output in ``log``, serving on ``port``; once built, its
    ``/health`` answers 200. A server that exits or does not answer within ``ready_s`` fails the
    test with its log, and is killed. ``own_group``: the server and its children in a process
    group of their own, so that ``kill`` ends exactly them."""

    def __init__(self, argv: Sequence[str], port: int, log: Path, *, what: str,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 own_group: bool = False, ready_s: float = 60.0) -> None:
        self.port = port
        self.log = log
        self.what = what
        self.own_group = own_group
        with open(log, "wb") as out:
            self.process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                            start_new_session=own_group)
        try:
            self._wait_ready(ready_s)
        except BaseException:
            self.kill()   # a server that failed to come up must not outlive the test
            raise

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _wait_ready(self, ready_s: float) -> None:
        deadline = time.monotonic() + ready_s
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"{self.what} exited early with {self.process.returncode}:\n{self._log_tail()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass   # not listening yet
            if time.monotonic() > deadline:
                pytest.fail(f"{self.what} not ready after {ready_s:.0f} s:\n{self._log_tail()}")
            time.sleep(0.1)

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-LOG_TAIL:]

    def stop(self) -> int:
        """Ctrl-C (a graceful shutdown); killed only if it does not exit. Its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL to the server (and, with ``own_group``, its children)."""
        if self.process.poll() is None:
            if self.own_group:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
            self.process.wait(timeout=10)
