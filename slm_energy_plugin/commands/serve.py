"""``slm-energy serve``: the footprint estimator as a web API (needs the ``[api]`` extra).

    pip install 'slm-energy-plugin[api]'
    slm-energy serve --host 127.0.0.1 --port 8000      # docs at http://127.0.0.1:8000/docs
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import SlmEnergyError

NAME = "serve"
HELP = "serve the footprint estimator as a web API (needs the [api] extra)"
INSTALL_HINT = "the web API needs the optional 'api' extra: pip install 'slm-energy-plugin[api]'"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on. Default: %(default)r")
    parser.add_argument("--port", type=int, default=8000, help="TCP port. Default: %(default)r")
    parser.add_argument("--config", action="append", type=Path, default=[], metavar="FILE",
                        help="extra estimator YAML file overriding the built-ins. Repeatable")
    parser.add_argument("--max-upload-bytes", type=int, default=1_000_000,
                        help="largest usage log POST /analytics accepts. Default: %(default)r")
    parser.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                        help="server log level. Default: %(default)r")


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..api.application import create_app
    except ImportError as exc:
        raise SlmEnergyError(f"{INSTALL_HINT} ({exc})") from None
    if not 0 <= args.port <= 65535:
        raise SlmEnergyError(f"--port must be 0-65535, got {args.port}")
    if args.max_upload_bytes < 1:
        raise SlmEnergyError(f"--max-upload-bytes must be positive, got {args.max_upload_bytes}")
    from ..carbon.config import load_config

    app = create_app(load_config(args.config), max_upload_bytes=args.max_upload_bytes)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
