"""The ``sd-runner`` command line: thin commands that parse, call the library and print."""

from __future__ import annotations

import functools
import os
import sys

import click

from sd_runner import __version__
from sd_runner.errors import ArgumentError, InputError, RunError, SDRunnerError


class BadInput(click.ClickException):
    """A user-correctable error: one line, exit code 2."""

    exit_code = 2


def _errors_as_messages(command):
    """Turn the library's errors into one-line messages with the right exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ArgumentError as exc:
            raise BadInput(exc.for_option(_OPTION_OF.get(exc.argument, "--" + exc.argument
                                                         .replace("_", "-")))) from None
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
        except (MemoryError, OverflowError, RecursionError) as exc:
            # The sizes are checked up front; should an estimate miss, still say it in a line.
            kind, what = next((k, w) for k, w in _RESOURCE_FAILURES.items()
                              if isinstance(exc, k))
            detail = (str(exc).splitlines() or [""])[0]
            raise click.ClickException(f"{what} ({kind.__name__}: {detail}); give smaller "
                                       "sizes or simpler input") from None

    return wrapper


#: Library arguments whose option is not ``--`` and the argument's name.
_OPTION_OF = {"samples": "--n"}

_RESOURCE_FAILURES = {MemoryError: "out of memory", OverflowError: "a number grew too large",
                      RecursionError: "input nested too deeply"}


def _engine_option(command):
    return click.option(
        "--engine", type=click.Choice(["fast", "pysd"]), default="fast", show_default=True,
        help="fast: the compiled kernel; pysd: PySD's own run (same numbers, much slower).",
    )(command)


def _fit_options(command):
    command = click.option(
        "--uncalibrated", is_flag=True,
        help="Use the .mdl's own parameter values instead of the committed calibration.",
    )(command)
    return click.option(
        "--fit", "fit_path", type=click.Path(), default=None,
        help="A fit folder (or its parameters.toml) written by `sd-runner calibrate`; "
        "default: the committed calibration.",
    )(command)


def _chosen_fit(fit_path, uncalibrated) -> str:
    from sd_runner import api as runner

    if fit_path and uncalibrated:
        raise InputError("--fit and --uncalibrated exclude each other; give one")
    if uncalibrated:
        return runner.UNCALIBRATED
    if fit_path:
        from sd_runner.calibration.fitfile import fit_parameters_path

        path = fit_parameters_path(fit_path)
        if not path.is_file():
            raise InputError(f"--fit {fit_path}: no fitted parameters there; give a folder "
                             "written by `sd-runner calibrate` or its parameters.toml")
        return str(path.resolve())
    return runner.CALIBRATED


def _parallel_options(command):
    from sd_runner.inputs.limits import SCHEDULER_TIMEOUT, WORKERS_PER_CORE

    command = click.option(
        "--scheduler", default=None,
        help="Address of a Dask scheduler (tcp://host:port) to run the ensembles on; refused "
        f"unless a scheduler with workers answers there within {SCHEDULER_TIMEOUT:g} seconds.",
    )(command)
    return click.option(
        "--workers", type=int, default=None,
        help="Local processes for the ensembles; default: one per core for large ones; at "
        f"most {WORKERS_PER_CORE} per core.",
    )(command)


_OUTPUTS = {"out", "out_dir", "out_file", "report"}


def _invocation() -> dict:
    """The command and its options as given, for the manifest of what it writes."""
    context = click.get_current_context()
    # Where the output went is not needed to rerun it, and would make two runs differ.
    return {"command": context.command_path.split()[-1],
            "options": {k: list(v) if isinstance(v, tuple) else v
                        for k, v in sorted(context.params.items()) if k not in _OUTPUTS}}


#: Kinds of files `calibrate` writes into its folder (fitfile.fit_files and the manifest).
_CALIBRATION_WRITES = (".csv", ".toml", ".cin", ".html", ".json")


def _scenario_file(name: str) -> str | None:
    """The file a scenario argument names (None for a bundled name), which no output may
    overwrite."""
    from sd_runner.inputs.scenarios import bundled_scenario_names

    return None if name in bundled_scenario_names() else name


def _check_workers(workers) -> None:
    from sd_runner.inputs import limits

    limits.check_workers("workers", workers)


class _OneValuePerOption(click.Command):
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


class _OneLineErrors(click.Group):
    """The command group: usage errors (an unknown option, a value of the wrong type) are one
    line with exit code 2, like every other bad input, instead of click's usage block."""

    command_class = _OneValuePerOption

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


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sd-runner")
def cli():
    """Value-chain capture of Zhejiang's clusters: run and compare the paper's policy levers."""


@cli.command()
@_errors_as_messages
def scenarios():
    """List the levers and the bundled scenarios."""
    from sd_runner import api as runner

    for line in runner.describe_levers_and_scenarios():
        click.echo(line)


@cli.command()
@click.argument("scenario")
@click.option("--out", "out", type=click.Path(), default=None,
              help="Write the wide CSV here (default: standard output).")
@_engine_option
@_fit_options
@_errors_as_messages
def run(scenario, out, engine, fit_path, uncalibrated):
    """Run one SCENARIO (a bundled name or a scenario file) and write a wide CSV."""
    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.reports import formats

    fit = _chosen_fit(fit_path, uncalibrated)
    output.refuse_empty({"--out": out})
    if out:
        output.check_writable_file(out, "--out")
        output.check_separate([("--out", out, True)],
                              inputs={"SCENARIO": _scenario_file(scenario), "--fit": fit_path})
    result = runner.run_one(scenario, progress=_progress, engine=engine, fit=fit)
    text = formats.wide_csv(result)
    if out:
        manifest = runner.output_manifest(_invocation(), fit, engine, [result.scenario])
        output.write_with_manifest(out, text, manifest, "--out")
        click.echo(f"wrote {out} and its manifest", err=True)
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("scenario_names", metavar="[SCENARIO]...", nargs=-1)
@click.option("--report", type=click.Path(), default=None,
              help="Write a self-contained HTML report here.")
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Write one wide CSV per scenario, outcomes.csv, outcome_totals.csv, "
              "rankings.csv, ranking_disagreements.csv and equal_cost.csv into this folder "
              "(with --loops, also loops.csv, loop_scores.csv, dominant_loops.csv and "
              "loop_shifts.csv; with --uncertainty, uncertainty_bands.csv, "
              "uncertainty_effects.csv and uncertainty_excluded.csv).")
@click.option("--loops", "with_loops", is_flag=True,
              help="Score the feedback loops in every run (Loops That Matter) and show which "
              "dominate each cluster, when, and how each scenario shifts them.")
@click.option("--loop-window", type=float, default=2.0, show_default=True,
              help="Years per window over which loop dominance is judged (with --loops).")
@click.option("--uncertainty", "members", type=int, default=None,
              help="Also run every scenario over this many parameter sets, 1 or more "
              "(common to all scenarios): bands, probabilities of beating the baseline, lever "
              "effects. Sizes this machine cannot hold are refused before anything runs.")
@click.option("--sample", type=click.Choice(["posterior", "priors"]), default="posterior",
              show_default=True,
              help="Draw the parameter sets from the fit's posterior sample or from the "
              "calibration settings' bounds and priors (with --uncertainty).")
@click.option("--seed", type=int, default=2003, show_default=True,
              help="Seed of the parameter draws (with --uncertainty).")
@click.option("--factors", "factors_path", type=click.Path(), default=None,
              help="A factors file (TOML): constants to vary too, each uniform within its "
              "bounds (with --uncertainty); a path, or assumed_factors, the bundled one.")
@_parallel_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the comparison (with --loops and --uncertainty, their results too) "
              "as one JSON object.")
@_engine_option
@_fit_options
@_errors_as_messages
def compare(scenario_names, report, out_dir, with_loops, loop_window, members, sample, seed,
            factors_path, workers, scheduler, as_json, engine, fit_path, uncalibrated):
    """Compare scenarios with the baseline (default: every bundled scenario)."""
    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.reports import formats

    fit = _chosen_fit(fit_path, uncalibrated)
    _check_workers(workers)
    output.refuse_empty({"--out": out_dir, "--report": report})
    if report:
        output.check_writable_file(report, "--report")
    if out_dir:
        output.check_writable_dir(out_dir, "--out")
    output.check_separate([("--report", report, False)], folder=("--out", out_dir),
                          inputs={"--factors": factors_path, "--fit": fit_path,
                                  **{name: _scenario_file(name) for name in scenario_names}})
    comparison = runner.compare(list(scenario_names), progress=_progress, engine=engine,
                                fit=fit, loops=with_loops, loop_window=loop_window,
                                uncertainty=members, sample=sample, seed=seed,
                                workers=workers, scheduler=scheduler,
                                factors_path=factors_path)
    if comparison.uncertainty is not None and comparison.uncertainty.excluded:
        click.echo(f"warning: {comparison.uncertainty.exclusion_note()}", err=True)
    seeds = {"parameter sets": seed} if members is not None else {}
    manifest = runner.output_manifest(_invocation(), fit, engine,
                                      [run.scenario for run in comparison.runs], seeds)
    if out_dir:
        files = formats.comparison_csvs(comparison)
        files["manifest.json"] = manifest
        output.write_files(out_dir, files, "--out")
        click.echo(f"wrote {len(files)} files to {out_dir}", err=True)
    if report:
        output.write_text(report, formats.comparison_html(
            comparison, runner.report_provenance(fit), manifest), "--report")
        click.echo(f"wrote {report}", err=True)
    if as_json:
        click.echo(formats.comparison_json(comparison))
    elif not out_dir and not report:
        click.echo(formats.outcome_summary(comparison))
        if comparison.loops is not None:
            click.echo("")
            click.echo(formats.dominance_summary(comparison.loops))


@cli.command()
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="Calibration settings (TOML); default: config, the bundled settings.")
@click.option("--data", "data_path", type=click.Path(), multiple=True,
              help="Observation file (CSV); give --data again for more files (the rows of "
              "all are used); default: every bundled file (zhejiang_observations and "
              "more_observations).")
@click.option("--method", default=None,
              help="Optimiser: least-squares or differential-evolution; default: the "
              "settings file's.")
@click.option("--seed", type=int, default=None,
              help="Seed of starts, evolution and MCMC; default: the settings file's.")
@click.option("--out", "out_dir", type=click.Path(), default="calibration_fit",
              show_default=True, help="Folder for the fitted parameters, tables and report.")
@_errors_as_messages
def calibrate(config_path, data_path, method, seed, out_dir):
    """Fit the model to observations; write parameters, intervals, sample and a report."""
    from sd_runner import api as runner
    from sd_runner import resources
    from sd_runner.outputs import files as output

    output.check_writable_dir(out_dir, "--out", rewrites=resources.fit_dir())
    output.check_separate([], folder=("--out", out_dir),
                          inputs={"--config": config_path,
                                  **{f"--data {p}": p for p in data_path}},
                          folder_writes=lambda name: name.endswith(_CALIBRATION_WRITES))
    with _StageBars() as bars:
        result = runner.calibrate(config_path, data_path, method, seed, progress=bars.update,
                                  notice=lambda line: click.echo(line, err=True))
    files = runner.calibration_files(result)
    invocation = _invocation()
    invocation["options"].update(runner.calibration_settings(result))  # defaults resolved
    files["manifest.json"] = runner.output_manifest(
        invocation, runner.UNCALIBRATED, "fast", [],
        {"starts, evolution and MCMC": result.seed})
    output.write_files(out_dir, files, "--out")
    click.echo(_calibration_summary(result))
    click.echo(f"wrote {out_dir}", err=True)


@cli.command()
@click.option("--data", "data_path", type=click.Path(), required=True, multiple=True,
              help="Observation file (CSV) in the project's format, or a bundled one "
              "(zhejiang_observations, more_observations); give --data again for more files.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--out", "out_file", type=click.Path(), default=None,
              help="Also write every row's accounting (status, reason, simulated value, "
              "error) to this CSV file.")
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="Calibration settings whose series mappings apply; default: config, the "
              "bundled settings.")
@_fit_options
@_errors_as_messages
def validate(data_path, as_json, out_file, config_path, fit_path, uncalibrated):
    """Compare the fitted model with observation files: every row (compared, with its
    simulated value and error, or not, with the reason) and the statistics."""
    import json

    from sd_runner import api as runner
    from sd_runner.outputs import files as output

    if out_file is not None:
        output.check_separate([("--out", out_file, False)],
                              inputs={f"--data {p}": p for p in data_path})
    result = runner.validate(list(data_path), _chosen_fit(fit_path, uncalibrated),
                             config_path)
    if out_file is not None:
        output.write_text(out_file, result.accounting_csv(), "--out")
        click.echo(f"wrote {out_file}", err=True)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=1, ensure_ascii=False))
        return
    click.echo(result.accounting_text())
    click.echo("")
    click.echo(result.statistics.round(4).to_string(index=False))


@cli.command()
@click.option("--method", type=click.Choice(["sobol", "morris"]), default="sobol",
              show_default=True, help="Sobol indices (first, total, second order) or Morris "
              "screening.")
@click.option("--n", "samples", type=int, default=1024, show_default=True,
              help="Sobol: base samples, a power of 2 (runs: n(2k+2) for k parameters); "
              "Morris: trajectories (runs: n(k+1)).")
@click.option("--second-order/--no-second-order", default=True, show_default=True,
              help="Sobol: also compute second-order indices (n(2k+2) runs instead of "
              "n(k+2), and about half the time of a large analysis).")
@click.option("--outcome", "outcomes", multiple=True,
              help="A variable, for every cluster (Margin) or one (Margin[Apparel]); "
              "repeat for more. Default: Margin and Buyer Dependence.")
@click.option("--year", type=float, default=2035, show_default=True,
              help="Year the outcomes are taken in.")
@click.option("--scenario", default="baseline", show_default=True,
              help="Scenario whose levers every run applies (a bundled name or a file).")
@click.option("--seed", type=int, default=2003, show_default=True,
              help="Seed of the sample and of the bootstrap intervals.")
@click.option("--factors", "factors_path", type=click.Path(), default=None,
              help="A factors file (TOML) of the constants to vary and their bounds (a path, "
              "or assumed_factors, the bundled one); default: every parameter the "
              "calibration estimates, within its bounds.")
@click.option("--out", "out_file", type=click.Path(), default=None,
              help="Write the indices as CSV here (default: a summary on standard output).")
@click.option("--report", type=click.Path(), default=None,
              help="Write a self-contained HTML report of the indices here.")
@_parallel_options
@_fit_options
@_errors_as_messages
def sensitivity(method, samples, second_order, outcomes, year, scenario, seed, factors_path,
                out_file, report, workers, scheduler, fit_path, uncalibrated):
    """Global sensitivity of outcomes to the estimated parameters (or a factors file's)."""
    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.reports import formats

    fit = _chosen_fit(fit_path, uncalibrated)
    _check_workers(workers)
    output.refuse_empty({"--out": out_file, "--report": report})
    if out_file:
        output.check_writable_file(out_file, "--out")
    if report:
        output.check_writable_file(report, "--report")
    output.check_separate([("--out", out_file, True), ("--report", report, False)],
                          inputs={"--factors": factors_path, "--fit": fit_path,
                                  "--scenario": _scenario_file(scenario)})
    bar = _Bar("model runs")
    try:
        result = runner.sensitivity(method, samples, list(outcomes), year, scenario, seed,
                                    fit=fit, workers=workers, scheduler=scheduler,
                                    progress=bar.update, factors_path=factors_path,
                                    second_order=second_order)
    finally:
        bar.close()
    manifest = runner.output_manifest(_invocation(), fit, "fast",
                                      [runner.scenario(scenario, "fast", fit)],
                                      {"sample and bootstrap": seed})
    if out_file:
        output.write_with_manifest(out_file, formats.sensitivity_csv(result), manifest, "--out")
        click.echo(f"wrote {out_file} and its manifest", err=True)
    if report:
        output.write_text(report, formats.sensitivity_html(
            result, runner.report_provenance(fit), manifest), "--report")
        click.echo(f"wrote {report}", err=True)
    if not out_file and not report:
        click.echo(formats.sensitivity_summary(result))


@cli.command("lever-ranks")
@click.option("--members", type=int, default=1000, show_default=True,
              help="Members of the ensemble: each runs the baseline and every lever alone.")
@click.option("--seed", type=int, default=2003, show_default=True,
              help="Seed of the policy factors' Latin hypercube (and of the other draws).")
@click.option("--factors", "factors_path", type=click.Path(), default=None,
              help="A policy factors file (TOML): each lever's magnitude and cost multipliers "
              "(a path, or policy_factors, the bundled one, the default).")
@click.option("--with-assumed", is_flag=True,
              help="Also vary the assumed parameters (assumed_factors) in every member.")
@click.option("--with-posterior", is_flag=True,
              help="Also draw every member's estimated parameters from the fit's posterior "
              "sample.")
@click.option("--out", "out_file", type=click.Path(), default=None,
              help="Write the rank probabilities as CSV here (with a manifest).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@_parallel_options
@_fit_options
@_errors_as_messages
def lever_ranks(members, seed, factors_path, with_assumed, with_posterior, out_file, as_json,
                workers, scheduler, fit_path, uncalibrated):
    """Probability of each rank of every lever by margin, total profit and buyer dependence
    in 2035, when the levers' programme sizes and unit costs are uncertain."""
    import json

    from sd_runner import api as runner
    from sd_runner.outputs import files as output

    fit = _chosen_fit(fit_path, uncalibrated)
    _check_workers(workers)
    output.refuse_empty({"--out": out_file})
    if out_file:
        output.check_writable_file(out_file, "--out")
        output.check_separate([("--out", out_file, True)],
                              inputs={"--factors": factors_path, "--fit": fit_path})
    result = runner.lever_ranks(members, seed, with_assumed, with_posterior, factors_path, fit,
                                workers, scheduler, progress=_progress)
    if result.excluded:
        click.echo(f"warning: {len(result.excluded)} of {members} members left out: they "
                   f"leave a declared range (the first: {result.excluded[0].breach.describe()})",
                   err=True)
    if out_file:
        from sd_runner.results.matrix import BASELINE
        from sd_runner.simulate.lever_matrix import lever_matrix

        levers = runner.bundled_levers()
        chosen = [m.scenario for m in lever_matrix(levers)
                  if m.lever == BASELINE or (m.lever in levers and m.level == 1.0)]
        manifest = runner.output_manifest(_invocation(), fit, "fast", chosen,
                                          {"policy factors and other draws": seed})
        output.write_with_manifest(out_file, result.csv(), manifest, "--out")
        click.echo(f"wrote {out_file} and its manifest", err=True)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=1))
    elif not out_file:
        click.echo(result.summary())


class _Bar:
    """A click progress bar on standard error, opened at the first update."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.done = 0

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
@click.option("--checks", "checks_path", type=click.Path(dir_okay=False),
              help="Behaviour assertions to hold the model to (default: the bundled "
                   "models/checks.toml).")
@_fit_options
@_errors_as_messages
def check(as_json, checks_path, fit_path, uncalibrated):
    """Check the model: units of every equation, integration error (halving TIME STEP), the
    lever matrix (every lever alone at 0, half and full, and all at once) held to the
    behaviour assertions of checks.toml, and the loop knockouts.

    Exits with 1 when a check fails, naming the condition, variable, cluster and time.
    """
    import json

    from sd_runner import api as runner

    result = runner.check_model(_chosen_fit(fit_path, uncalibrated), checks_path)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=1))
    else:
        for line in result.summary_lines():
            click.echo(line)
    if not result.passed:
        sys.exit(1)


@cli.command()
@click.argument("old")
@click.argument("new", required=False)
@click.option("--old-fit", default=None, metavar="FIT",
              help="Parameters applied to OLD when it is a .mdl: a fit folder or its "
              "parameters.toml, calibrated (the committed fit, default) or uncalibrated.")
@click.option("--new-fit", default=None, metavar="FIT",
              help="The same for NEW (or the bundled model when NEW is left out).")
@click.option("--threshold", type=float, default=1.0, show_default=True, metavar="PERCENT",
              help="List a series when it moves by more than this % of its largest magnitude "
              "over the run (in either version).")
@click.option("--floor", type=float, default=1e-6, show_default=True,
              help="Least magnitude a series is measured against, in its own units, so that "
              "rounding does not move an outcome that is zero in both versions.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--html", "html_file", type=click.Path(), default=None,
              help="Also write a self-contained HTML page: the table of moves and charts of "
              "the largest.")
@_errors_as_messages
def diff(old, new, old_fit, new_fit, threshold, floor, as_json, html_file):
    """Run the lever matrix on two versions of the model and list the key outcomes that move.

    OLD and NEW are each a .mdl file or a fit (a folder or parameters.toml written by
    `sd-runner calibrate`) of the bundled model; NEW defaults to the bundled model. Exits with
    0 when nothing moves beyond the threshold, 1 when something does, 2 for bad input.
    """
    from sd_runner.outputs import files as output
    from sd_runner.reports import diff as diff_report
    from sd_runner.validation import diff as model_diff

    output.refuse_empty({"--html": html_file})
    if html_file:
        output.check_writable_file(html_file, "--html")
        output.check_separate([("--html", html_file, False)],
                              inputs={"OLD": old, "NEW": new, "--old-fit": old_fit,
                                      "--new-fit": new_fit})
    found = model_diff.diff_models(model_diff.version_spec("OLD", old, old_fit),
                                   model_diff.version_spec("NEW", new, new_fit),
                                   threshold=threshold / 100, floor=floor, progress=_progress)
    if html_file:
        output.write_text(html_file, diff_report.diff_html(found), "--html")
        click.echo(f"wrote {html_file}", err=True)
    click.echo(diff_report.diff_json(found) if as_json else diff_report.diff_text(found))
    if found.differs:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@_errors_as_messages
def loops(as_json):
    """List every feedback loop of the model: id, polarity, name and variables."""
    import json

    from sd_runner import api as runner

    inventory = runner.loop_inventory()
    found = inventory.loops
    if as_json:
        records = [{"id": loop.id, "polarity": loop.polarity, "name": loop.name,
                    "variables": list(loop.variables), "stocks": list(loop.stocks),
                    "links": [{"from": k.source, "to": k.target, "kind": k.kind,
                               "polarity": {1: "+", -1: "-", 0: "?"}[k.polarity]}
                              for k in loop.links]} for loop in found]
        click.echo(json.dumps({"method": inventory.method, "loops": records}, indent=1))
        return
    counts = {p: sum(loop.polarity == p for loop in found) for p in ("R", "B", "?")}
    how = ("every loop" if inventory.method == "exhaustive" else
           "too many to list all: those the strongest-path search finds in the baseline run")
    click.echo(f"{len(found)} feedback loops ({how}): {counts['R']} reinforcing, "
               f"{counts['B']} balancing, {counts['?']} whose polarity changes with the state")
    click.echo(f"{'id':<9} {'polarity':<8} {'length':>6}  [name]  variables")
    for loop in found:
        name = f"  [{loop.name}]" if loop.name else ""
        click.echo(f"{loop.id:<9} {loop.polarity:<8} {len(loop.variables):>6}{name}  "
                   + " -> ".join(loop.variables))


class _StageBars:
    """One progress bar (:class:`_Bar`) per calibration stage, on standard error."""

    LABELS = {"fit": "fitting", "profiles": "profile intervals", "mcmc": "MCMC sample"}

    def __init__(self):
        self.stage = None
        self.bar = _Bar("")

    def update(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = _Bar(self.LABELS.get(stage, stage))
        self.bar.update(done, total)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _calibration_summary(result) -> str:
    table = result.parameters
    level = int(round(result.config.confidence * 100))
    lines = [f"{result.method}, seed {result.seed}: chi-square {result.chi_square:.3f} on "
             f"{result.dof} degrees of freedom ({len(result.rows)} rows); intervals scaled "
             f"by {result.scale:.3f}", "", "Fit statistics:",
             result.statistics.round(4).to_string(index=False), "",
             f"Parameters ({level} % profile-likelihood intervals):"]
    shown = table[["parameter", "estimate", f"profile_{level}_lower",
                   f"profile_{level}_upper", "verdict"]]
    with_width = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
    lines.append(with_width)
    if result.posterior is not None:
        tau = result.posterior.longest_autocorrelation
        kept = result.config.mcmc_steps - result.config.mcmc_burn
        walkers = result.config.mcmc_walkers
        lines += ["", f"MCMC: {walkers} walkers x {kept} kept steps, acceptance "
                  f"{result.posterior.acceptance:.2f}, autocorrelation time up to {tau:.0f} "
                  f"steps (the chain is {kept / tau:.0f} of them: about "
                  f"{walkers * kept / tau:.0f} independent draws); "
                  f"{len(result.posterior.sample)} parameter sets saved"]
    seconds = ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
    lines.append("")
    lines.append(f"time: {seconds}")
    return "\n".join(lines)


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


if __name__ == "__main__":
    main()
