"""Errors a user can fix: they print as one line, never as a traceback."""


class UserError(Exception):
    """Bad input: the message says what is wrong and how to fix it, in one line."""

    exit_code = 2


class DataError(UserError):
    """A data source could not be read or failed validation."""


class StrategyError(UserError):
    """A strategy could not be loaded, or was given parameters it does not have."""
