"""Errors that carry one line a user can act on (never a traceback)."""

from typing import Any

from .safety import safe_message


class SlmEnergyError(Exception):
    """Bad input or an unusable environment, described in one actionable line.

    The line often quotes what came from outside (an option's value, a file, a server): it is made
    safe to show here, once, for every message (secrets masked, terminal control removed).
    """

    def __init__(self, message: Any = "", *args: Any) -> None:
        super().__init__(safe_message(str(message)), *args)


class ConfigError(SlmEnergyError):
    """An option, ini value or data file is invalid; raised before anything is measured."""


class OverBudget(ConfigError):
    """Input refused because processing it would exceed a bound (size, rows, time) set for it."""
