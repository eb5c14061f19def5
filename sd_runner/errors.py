"""The project's exceptions: one small family, each message naming what, where and the fix."""


class SDRunnerError(Exception):
    """Base of every error the package raises on purpose."""


class InputError(SDRunnerError):
    """Bad input: a file, option, name or value the user can correct (CLI exit code 2)."""


class RunError(SDRunnerError):
    """A failure while running a model that the input did not cause (CLI exit code 1)."""


class OutputError(SDRunnerError):
    """Writing an output failed (disk full, no permission): nothing was written (exit code 1)."""
class ArgumentError(InputError):
    """A size, seed or address out of range. The message names the library's argument; the
    CLI names its option instead (:meth:`for_option`)."""

    def __init__(self, argument: str, value, problem: str):
        self.argument, self.value, self.problem = argument, value, problem
        super().__init__(f"{argument}={value!r}: {problem}")

    def for_option(self, option: str) -> str:
        """The message with the command-line option in place of the argument."""
        shown = repr(self.value) if isinstance(self.value, str) else self.value
        return f"{option} {shown}: {self.problem}"
