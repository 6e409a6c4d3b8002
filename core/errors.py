"""The user-facing error type: a problem the user fixes (bad recipe key, missing file, absent device).

Every command prints a `UserError` as one line, `error: <message>`, and exits with status 2; it is
never shown as a traceback. Each area subclasses it (RecipeError, DataError, CheckpointError,
BackendError, DistributedError, ...), so callers catch one type:

    try:
        core.train("recipe.yaml")
    except core.errors.UserError as e:
        print(f"error: {e}")
"""

from __future__ import annotations


class UserError(Exception):
    """A one-line, user-facing problem; its message names what to fix."""


class RecipeError(UserError, ValueError):
    """A one-line problem with a recipe, an override or a command-line flag."""


class DataError(UserError, ValueError):
    """A one-line problem with a data source or data file."""


class CheckpointError(UserError, RuntimeError):
    """A one-line problem with a checkpoint or weights file (missing, partial, corrupt)."""


class DistributedError(UserError, RuntimeError):
    """A one-line problem with a distributed run (bad flags, wrong launcher, a dead rank)."""


class ParityError(UserError, ValueError):
    """A one-line problem with the parity tool's input (e.g. a bad --ms-override)."""
