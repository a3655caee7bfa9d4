"""The process of a model server on this machine, found by the port it listens on.

A served model's work happens in the server (Ollama, vLLM...), not in this client: its CPU and
resident memory are the figures that belong on the record. The server is found by its listening
TCP port (psutil's ``net_connections``); another user's process, a container's or a platform that
hides sockets gives no pid, and the record then says the figures are the client's.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import psutil


def url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def listening_pid(port: int) -> int | None:
    """The pid of the process listening on TCP ``port`` here; None when unseen or not ours to see."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return int(conn.pid)
    return None


def server_process(url: str) -> dict[str, Any]:
    """What the record says about whose CPU and RSS the utilisation figures are."""
    port = url_port(url)
    pid = listening_pid(port)
    if pid is None:
        return {"pid": None, "port": port, "sampled": "client",
                "reason": f"no process of this user is seen listening on port {port} (another user's, a "
                          "container's, or a remote server): CPU and RSS figures are this client's"}
    try:
        name = psutil.Process(pid).name()
    except psutil.Error:
        name = None
    return {"pid": pid, "name": name, "port": port, "sampled": "server",
            "found_by": f"the process listening on TCP port {port}"}
