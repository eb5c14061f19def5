"""The ``sd-runner`` command line: thin commands that parse, call the library and print."""

from __future__ import annotations

import functools
import os
import sys

import click

from sd_runner import __version__
from sd_runner.errors import InputError, RunError, SDRunnerError


class BadInput(click.ClickException):
    """A user-correctable error: one line, exit code 2."""

    exit_code = 2


def _errors_as_messages(command):
    """Turn the library's errors into one-line messages with the right exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            raise BadInput(str(exc)) from None
        except (RunError, SDRunnerError) as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or ''}: {exc.strerror or exc}") from None

    return wrapper


def _engine_option(command):
    return click.option(
        "--engine", type=click.Choice(["fast", "pysd"]), default="fast", show_default=True,
        help="fast: the compiled kernel; pysd: PySD's own run (same numbers, much slower).",
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sd-runner")
def cli():
    """Value-chain capture of Zhejiang's clusters: run and compare the paper's policy levers."""


@cli.command()
@_errors_as_messages
def scenarios():
    """List the levers and the bundled scenarios."""
    from sd_runner import runner

    for line in runner.describe_levers_and_scenarios():
        click.echo(line)


@cli.command()
@click.argument("scenario")
@click.option("--out", "out", type=click.Path(), default=None,
              help="Write the wide CSV here (default: standard output).")
@_engine_option
@_errors_as_messages
def run(scenario, out, engine):
    """Run one SCENARIO (a bundled name or a scenario file) and write a wide CSV."""
    from sd_runner import output, runner

    if out:
        output.check_writable_file(out, "--out")
    result = runner.run_one(scenario, progress=_progress, engine=engine)
    text = runner.wide_csv(result)
    if out:
        output.write_text(out, text)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("scenario_names", metavar="[SCENARIO]...", nargs=-1)
@click.option("--report", type=click.Path(), default=None,
              help="Write a self-contained HTML report here.")
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Write one wide CSV per scenario and outcomes.csv into this folder.")
@_engine_option
@_errors_as_messages
def compare(scenario_names, report, out_dir, engine):
    """Compare scenarios with the baseline (default: every bundled scenario)."""
    from sd_runner import output, runner

    if report:
        output.check_writable_file(report, "--report")
    if out_dir:
        output.check_writable_dir(out_dir, "--out")
    comparison = runner.compare(list(scenario_names), progress=_progress, engine=engine)
    if out_dir:
        output.write_files(out_dir, runner.comparison_csvs(comparison))
        click.echo(f"wrote {len(comparison.runs) + 1} files to {out_dir}", err=True)
    if report:
        output.write_text(report, runner.comparison_html(comparison))
        click.echo(f"wrote {report}", err=True)
    if not out_dir and not report:
        click.echo(runner.outcome_summary(comparison))


def _progress(message: str) -> None:
    click.echo(message, err=True)


def main() -> None:
    """Console entry point: never shows a traceback for an error the user can act on."""
    try:
        cli.main(standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:  # a bug: still one line, exit 1
        click.echo(f"Error: internal failure ({type(exc).__name__}: {exc})", err=True)
        sys.exit(1)
