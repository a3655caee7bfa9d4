"""Errors that carry one line a user can act on (never a traceback)."""


class SlmEnergyError(Exception):
    """Bad input or an unusable environment, described in one actionable line."""


class ConfigError(SlmEnergyError):
    """An option, ini value or data file is invalid; raised before anything is measured."""
