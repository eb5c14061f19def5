"""The ``sd-runner`` command group: the command line's one error boundary (every failure one
line on standard error, exit code 2 for bad input and 1 otherwise) and options given once."""

from __future__ import annotations

import os
import sys

import click

from sd_runner.errors import ArgumentError, InputError, SDRunnerError


class BadInput(click.ClickException):
    """A user-correctable error: one line, exit code 2."""

    exit_code = 2


#: Library arguments whose option is not ``--`` and the argument's name with dashes.
_OPTION_OF = {"samples": "--n", "outcomes": "--outcome", "factors_path": "--factors",
              "config_path": "--config", "data_path": "--data"}

_RESOURCE_FAILURES = {MemoryError: "out of memory", OverflowError: "a number grew too large",
                      RecursionError: "input nested too deeply"}


def as_message(exc: Exception) -> click.ClickException:
    """The one-line error a command's failure is shown as: exit code 2 for bad input, 1 for
    anything else (a failed run or write, memory, a bug)."""
    if isinstance(exc, ArgumentError):
        return BadInput(exc.for_option(_OPTION_OF.get(exc.argument,
                                                      "--" + exc.argument.replace("_", "-"))))
    if isinstance(exc, InputError):
        return BadInput(str(exc))
    if isinstance(exc, SDRunnerError):  # RunError, OutputError
        return click.ClickException(str(exc))
    if isinstance(exc, OSError):
        return click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}")
    if isinstance(exc, tuple(_RESOURCE_FAILURES)):
        # The sizes are checked up front; should an estimate miss, still say it in a line.
        kind, what = next((k, w) for k, w in _RESOURCE_FAILURES.items() if isinstance(exc, k))
        detail = (str(exc).splitlines() or [""])[0]
        return click.ClickException(f"{what} ({kind.__name__}: {detail}); give smaller sizes "
                                    "or simpler input")
    return click.ClickException(f"internal failure ({type(exc).__name__}: {exc})")  # a bug


class OneValuePerOption(click.Command):
    """A command that refuses an option given twice: click would keep the last value
    silently (``--out a.csv --out b.csv`` writes only b.csv)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        by_name = {name: param for param in self.params if isinstance(param, click.Option)
                   and not (param.multiple or param.count or param.is_flag)
                   for name in param.opts}
        seen: dict[str, str] = {}
        index = 0
        while index < len(args) and args[index] != "--":
            name, has_value, _ = args[index].partition("=")
            param = by_name.get(name)
            given = args[index] if has_value or param is None \
                else " ".join(args[index:index + 2])
            index += 1 if has_value or param is None else 2  # skip the option's value
            if param is None:
                continue
            if param.name in seen:
                raise click.UsageError(f"{name} is given twice ({seen[param.name]} and "
                                       f"{given}); give it once", ctx)
            seen[param.name] = given
        return super().parse_args(ctx, args)


class OneLineErrors(click.Group):
    """The command group and the CLI's one error boundary: every failure is one line on
    standard error. Usage errors (an unknown option, a value of the wrong type) and the
    library's InputError exit with 2, like every other bad input, instead of click's usage
    block or a traceback; anything else with 1 (:func:`as_message`)."""

    command_class = OneValuePerOption

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(1) from None
        except Exception as exc:
            raise as_message(exc) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = (f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else "")
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
