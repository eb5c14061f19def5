"""What several ``sd-runner`` commands share: options, and how they become the api's
arguments and the manifest's record of the command."""

from __future__ import annotations

import click

from sd_runner.errors import InputError


def engine_option(command):
    return click.option(
        "--engine", type=click.Choice(["fast", "pysd"]), default="fast", show_default=True,
        help="fast: the compiled kernel; pysd: PySD's own run (same numbers, much slower).",
    )(command)


def fit_options(command):
    command = click.option(
        "--uncalibrated", is_flag=True,
        help="Use the .mdl's own parameter values instead of the committed calibration.",
    )(command)
    return click.option(
        "--fit", "fit_path", type=click.Path(), default=None,
        help="A fit folder (or its parameters.toml) written by `sd-runner calibrate`; "
        "default: the committed calibration.",
    )(command)


def chosen_fit(fit_path, uncalibrated) -> str:
    """The ``fit`` the api takes for ``--fit`` and ``--uncalibrated``."""
    from sd_runner import api as runner

    if fit_path and uncalibrated:
        raise InputError("--fit and --uncalibrated exclude each other; give one")
    if uncalibrated:
        return runner.UNCALIBRATED
    return runner.fit_parameters(fit_path) if fit_path else runner.CALIBRATED


def refuse_uncalibrated_posterior(fit: str, drawn: bool) -> None:
    """Said with the options that fix it, before the api says it with its arguments."""
    from sd_runner import api as runner

    if drawn and fit == runner.UNCALIBRATED:
        raise InputError("--uncalibrated has no posterior sample to draw from; use "
                         "--sample priors, or a fit with --fit")


def parallel_options(command):
    from sd_runner.inputs.limits import SCHEDULER_TIMEOUT, WORKERS_PER_CORE

    command = click.option(
        "--scheduler", default=None,
        help="Address of a Dask scheduler (tcp://host:port) to run the ensembles on; refused "
        f"unless a scheduler with workers answers there within {SCHEDULER_TIMEOUT:g} seconds.",
    )(command)
    return click.option(
        "--workers", type=int, default=None,
        help="Local threads for the ensembles; default: one per core for large ones; at "
        f"most {WORKERS_PER_CORE} per core.",
    )(command)


#: Options that name where a command writes.
OUTPUTS = {"out", "out_dir", "out_file", "report", "explorer_file"}


def invocation() -> dict:
    """The command and its options as given, for the manifest of what it writes."""
    context = click.get_current_context()
    # Where the output went is not needed to rerun it, and would make two runs differ.
    return {"command": context.command_path.split()[-1],
            "options": {k: list(v) if isinstance(v, tuple) else v
                        for k, v in sorted(context.params.items()) if k not in OUTPUTS}}


def scenario_file(name: str) -> str | None:
    """The file a scenario argument names (None for a bundled name), which no output may
    overwrite."""
    from sd_runner.inputs.scenarios import bundled_scenario_names

    return None if name in bundled_scenario_names() else name


def check_workers(workers) -> None:
    from sd_runner.inputs import limits

    limits.check_workers("workers", workers)
