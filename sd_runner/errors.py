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
    """A value of one argument that cannot be taken. The message names the library's
    argument (``members=0: give ...``); the CLI names its option instead (:meth:`for_option`).

    ``joint`` joins the argument and the ``problem`` (``" "`` for a problem that reads on from
    the value: ``outcomes='Happiness' is not a variable ...``); ``typed`` is the value as a
    command line writes it, if not its ``repr`` (a string) or ``str``."""

    def __init__(self, argument: str, value, problem: str, joint: str = ": ",
                 typed: str | None = None):
        self.argument, self.value, self.problem = argument, value, problem
        self.joint, self.typed = joint, typed
        super().__init__(f"{argument}={value!r}{joint}{problem}")

    def for_option(self, option: str) -> str:
        """The message with the command-line option in place of the argument."""
        shown = self.typed if self.typed is not None else (
            repr(self.value) if isinstance(self.value, str) else self.value)
        return f"{option} {shown}{self.joint}{self.problem}"
