"""The project's exceptions: one small family, each message naming what, where and the fix."""


class SDRunnerError(Exception):
    """Base of every error the package raises on purpose."""


class InputError(SDRunnerError):
    """Bad input: a file, option, name or value the user can correct (CLI exit code 2)."""


class RunError(SDRunnerError):
    """A failure while running a model that the input did not cause (CLI exit code 1)."""


class OutputError(SDRunnerError):
    """Writing an output failed (disk full, no permission): nothing was written (exit code 1)."""
