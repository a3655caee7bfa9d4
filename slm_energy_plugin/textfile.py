"""Reading a user's text file, with one actionable line for every way it can fail."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def read_text(path: Path, label: str | None = None, hint: str = "") -> str:
    """The file's UTF-8 text; ``label`` names it in errors (default: its path), ``hint`` says what to do."""
    name = label or str(path)
    suffix = f"; {hint}" if hint else ""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{name}: no such file{suffix}") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a folder, not a file{suffix}") from None
    except PermissionError:
        raise ConfigError(f"{name}: cannot be read (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot be read ({exc.strerror or exc})") from None
