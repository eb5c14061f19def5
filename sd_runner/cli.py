"""The ``sd-runner`` command line: thin commands that parse, call the library and print."""

from __future__ import annotations

import click

from sd_runner import __version__
from sd_runner import cli_options as options
from sd_runner.cli_group import OneLineErrors
from sd_runner.cli_progress import Bars
from sd_runner.errors import InputError


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sd-runner")
def cli():
    """Value-chain capture of Zhejiang's clusters: run and compare the paper's policy levers."""


@cli.command()
def scenarios():
    """List the levers and the bundled scenarios."""
    from sd_runner import api as runner

    for line in runner.describe_levers_and_scenarios():
        click.echo(line)


@cli.command()
@click.argument("scenario")
@click.option("--out", "out", type=click.Path(), default=None,
              help="Write the wide CSV here (default: standard output).")
@options.engine_option
@options.fit_options
def run(scenario, out, engine, fit_path, uncalibrated):
    """Run one SCENARIO (a bundled name or a scenario file) and write a wide CSV."""
    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.reports import formats

    fit = options.chosen_fit(fit_path, uncalibrated)
    output.refuse_empty({"--out": out})
    if out:
        output.check_writable_file(out, "--out")
        output.check_separate([("--out", out, True)],
                              inputs={"SCENARIO": options.scenario_file(scenario),
                                      "--fit": fit_path})
    with Bars() as bars:
        result = runner.run_one(scenario, progress=bars, engine=engine, fit=fit)
    text = formats.wide_csv(result)
    if out:
        manifest = runner.output_manifest(options.invocation(), fit, engine, [result.scenario])
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
@options.parallel_options
@click.option("--json", "as_json", is_flag=True,
              help="Print the comparison (with --loops and --uncertainty, their results too) "
              "as one JSON object.")
@click.option("--explorer", "explorer_file", type=click.Path(), default=None,
              help="Also write the lever explorer here (see `sd-runner explore`), with the "
              "same parameters; its bands' posterior sets are drawn with --seed.")
@options.engine_option
@options.fit_options
def compare(scenario_names, report, out_dir, with_loops, loop_window, members, sample, seed,
            factors_path, workers, scheduler, as_json, explorer_file, engine, fit_path,
            uncalibrated):
    """Compare scenarios with the baseline (default: every bundled scenario)."""
    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.reports import formats

    fit = options.chosen_fit(fit_path, uncalibrated)
    options.check_workers(workers)
    output.refuse_empty({"--out": out_dir, "--report": report, "--explorer": explorer_file})
    if report:
        output.check_writable_file(report, "--report")
    if explorer_file:
        output.check_writable_file(explorer_file, "--explorer")
    if out_dir:
        output.check_writable_dir(out_dir, "--out")
    output.check_separate([("--report", report, False), ("--explorer", explorer_file, False)],
                          folder=("--out", out_dir),
                          inputs={"--factors": factors_path, "--fit": fit_path,
                                  **{name: options.scenario_file(name) for name in scenario_names}})
    if factors_path and members is None:
        raise InputError("--factors needs --uncertainty N: it says what the parameter sets vary")
    options.refuse_uncalibrated_posterior(fit, members is not None and sample == "posterior")
    page = _explorer(fit, None, seed) if explorer_file else None  # before the runs: fail early
    with Bars() as bars:
        comparison = runner.compare(list(scenario_names), progress=bars, engine=engine,
                                    fit=fit, loops=with_loops, loop_window=loop_window,
                                    uncertainty=members, sample=sample, seed=seed,
                                    workers=workers, scheduler=scheduler,
                                    factors_path=factors_path)
    if comparison.uncertainty is not None and comparison.uncertainty.excluded:
        click.echo(f"warning: {comparison.uncertainty.exclusion_note()}", err=True)
    seeds = {"parameter sets": seed} if members is not None else {}
    manifest = runner.output_manifest(options.invocation(), fit, engine,
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
    if explorer_file:
        _write_explorer(explorer_file, page, "--explorer")
    if as_json:
        click.echo(formats.comparison_json(comparison))
    elif not out_dir and not report:
        click.echo(formats.findings_summary(comparison))
        click.echo("")
        click.echo(formats.outcome_summary(comparison))
        if comparison.loops is not None:
            click.echo("")
            click.echo(formats.dominance_summary(comparison.loops))


@cli.command()
@click.option("--out", type=click.Path(), default="explorer.html", show_default=True,
              help="The HTML file to write.")
@click.option("--members", type=int, default=None,
              help="Posterior sets the page carries for its 5-95 % bands, 0 (no bands) to "
              "1000; default 200, or 0 with --uncalibrated.")
@click.option("--seed", type=int, default=2003, show_default=True,
              help="Seed of the posterior sets' draw.")
@options.fit_options
def explore(out, members, seed, fit_path, uncalibrated):
    """Write the lever explorer: one offline HTML page in which the model, compiled to
    JavaScript, runs in the browser as you move the levers."""
    from sd_runner.outputs import files as output

    fit = options.chosen_fit(fit_path, uncalibrated)
    output.refuse_empty({"--out": out})
    output.check_writable_file(out, "--out")
    output.check_separate([("--out", out, False)], inputs={"--fit": fit_path})
    _write_explorer(out, _explorer(fit, members, seed), "--out")


def _explorer(fit: str, members, seed: int) -> str:
    """The explorer page, its manifest (this command's) at its end."""
    from sd_runner import api as runner

    manifest = runner.output_manifest(options.invocation(), fit, "fast", [],
                                      {"posterior sets": seed})
    return runner.explorer_page(fit, members, seed, manifest)


def _write_explorer(path: str, page: str, option: str) -> None:
    from sd_runner.outputs import files as output

    output.write_text(path, page, option)
    size = len(page.encode("utf-8")) / 1e6
    click.echo(f"wrote {path} ({size:.1f} MB): open it in a web browser; it runs offline",
               err=True)


#: Kinds of files `calibrate` writes into its folder (fitfile.fit_files and the manifest).
_CALIBRATION_WRITES = (".csv", ".toml", ".cin", ".html", ".json")


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
def calibrate(config_path, data_path, method, seed, out_dir):
    """Fit the model to observations; write parameters, intervals, sample and a report."""
    from sd_runner import api as runner
    from sd_runner import resources
    from sd_runner.outputs import files as output
    from sd_runner.reports import calibration_text

    output.check_writable_dir(out_dir, "--out", rewrites=resources.fit_dir())
    output.check_separate([], folder=("--out", out_dir),
                          inputs={"--config": config_path,
                                  **{f"--data {p}": p for p in data_path}},
                          folder_writes=lambda name: name.endswith(_CALIBRATION_WRITES))
    with Bars() as bars:
        result = runner.calibrate(config_path, data_path, method, seed, progress=bars,
                                  notice=lambda line: click.echo(line, err=True))
    files = runner.calibration_files(result)
    invocation = options.invocation()
    invocation["options"].update(runner.calibration_settings(result))  # defaults resolved
    files["manifest.json"] = runner.output_manifest(
        invocation, runner.UNCALIBRATED, "fast", [],
        {"starts, evolution and MCMC": result.seed})
    output.write_files(out_dir, files, "--out")
    click.echo(calibration_text.calibration_summary(result))
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
@options.fit_options
def validate(data_path, as_json, out_file, config_path, fit_path, uncalibrated):
    """Compare the fitted model with observation files: every row (compared, with its
    simulated value and error, or not, with the reason) and the statistics."""
    import json

    from sd_runner import api as runner
    from sd_runner.outputs import files as output

    if out_file is not None:
        output.check_separate([("--out", out_file, False)],
                              inputs={f"--data {p}": p for p in data_path})
    result = runner.validate(list(data_path), options.chosen_fit(fit_path, uncalibrated),
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
@options.parallel_options
@options.fit_options
def sensitivity(method, samples, second_order, outcomes, year, scenario, seed, factors_path,
                out_file, report, workers, scheduler, fit_path, uncalibrated):
    """Global sensitivity of outcomes to the estimated parameters (or a factors file's)."""
    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.reports import formats

    fit = options.chosen_fit(fit_path, uncalibrated)
    options.check_workers(workers)
    output.refuse_empty({"--out": out_file, "--report": report})
    if out_file:
        output.check_writable_file(out_file, "--out")
    if report:
        output.check_writable_file(report, "--report")
    output.check_separate([("--out", out_file, True), ("--report", report, False)],
                          inputs={"--factors": factors_path, "--fit": fit_path,
                                  "--scenario": options.scenario_file(scenario)})
    with Bars() as bars:
        result = runner.sensitivity(method, samples, list(outcomes), year, scenario, seed,
                                    fit=fit, workers=workers, scheduler=scheduler,
                                    progress=bars, factors_path=factors_path,
                                    second_order=second_order)
    manifest = runner.output_manifest(options.invocation(), fit, "fast",
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


@cli.command()
@click.argument("problem", required=False)
@click.option("--out", "out_dir", type=click.Path(), required=True,
              help="Folder for the Pareto set (pareto.csv, optimize.json, convergence.csv) "
              "and each member as a scenario file (mix-N.toml) that run and compare read.")
@click.option("--checkpoint", type=click.Path(), default=None,
              help="Checkpoint file, saved after every generation (default: the --out "
              "folder's name with .checkpoint).")
@click.option("--resume", is_flag=True, default=False,
              help="Continue from the checkpoint of an interrupted run of the same problem.")
@click.option("--report", type=click.Path(), default=None,
              help="Write a self-contained HTML report (parallel coordinates of the trade-offs, "
              "the mixes, convergence) here.")
@options.parallel_options
@options.fit_options
def optimize(problem, out_dir, checkpoint, resume, report, workers, scheduler, fit_path,
             uncalibrated):
    """The best lever mixes for a budget: a many-objective search over each lever's level and
    start year (PROBLEM: a problem file, or policy_problem, the bundled one)."""
    from pathlib import Path

    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.results import optimization

    fit = options.chosen_fit(fit_path, uncalibrated)
    options.check_workers(workers)
    output.check_writable_dir(out_dir, "--out")
    checkpoint = checkpoint or str(Path(out_dir).with_name(Path(out_dir).name + ".checkpoint"))
    output.check_writable_file(checkpoint, "--checkpoint")
    if report:
        output.check_writable_file(report, "--report")
    with Bars() as bars:
        design = runner.optimize(problem, fit, checkpoint, resume, workers=workers,
                                 scheduler=scheduler, progress=bars)
    rows = optimization.member_rows(design)
    convergence = [{k: ("" if v is None else v) for k, v in row.items()}
                   for row in design.search.convergence]
    files = {"pareto.csv": optimization.csv_text(rows),
             "optimize.json": optimization.json_text(design)}
    if convergence:
        files["convergence.csv"] = optimization.csv_text(convergence)
    for member in range(len(design.search.decisions)):
        files[f"mix-{member + 1}.toml"] = optimization.scenario_toml(design, member)
    files["manifest.json"] = runner.output_manifest(
        options.invocation(), fit, "fast", [runner.scenario(design.reference_name, "fast", fit)],
        {"search": design.problem.seed, "parameter sets": design.problem.uncertainty_seed})
    output.write_files(out_dir, files, "--out")
    if report:
        from sd_runner.reports.optimization import optimization_report

        output.write_text(report, optimization_report(design, runner.report_provenance(fit),
                                                      files["manifest.json"]), "--report")
        click.echo(f"wrote {report}", err=True)
    better = optimization.design_record(design)["better_than_reference"]
    named = problem or "policy_problem"
    click.echo(f"{len(design.search.decisions)} mixes in the Pareto set of {named} "
               f"({design.runs} runs); {len(better)} at most as costly as "
               f"{design.reference_name} and at least as good in every objective", err=True)
    click.echo(f"wrote {out_dir}", err=True)


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
@options.parallel_options
@options.fit_options
def lever_ranks(members, seed, factors_path, with_assumed, with_posterior, out_file, as_json,
                workers, scheduler, fit_path, uncalibrated):
    """Probability of each rank of every lever by margin, total profit and buyer dependence
    in 2035, when the levers' programme sizes and unit costs are uncertain."""
    import json

    from sd_runner import api as runner
    from sd_runner.outputs import files as output

    fit = options.chosen_fit(fit_path, uncalibrated)
    options.check_workers(workers)
    output.refuse_empty({"--out": out_file})
    if out_file:
        output.check_writable_file(out_file, "--out")
        output.check_separate([("--out", out_file, True)],
                              inputs={"--factors": factors_path, "--fit": fit_path})
    options.refuse_uncalibrated_posterior(fit, with_posterior)
    with Bars() as bars:
        result = runner.lever_ranks(members, seed, with_assumed, with_posterior, factors_path,
                                    fit, workers, scheduler, progress=bars)
    if result.excluded:
        click.echo(f"warning: {len(result.excluded)} of {members} members left out: they "
                   f"leave a declared range (the first: {result.excluded[0].breach.describe()})",
                   err=True)
    if out_file:
        manifest = runner.output_manifest(options.invocation(), fit, "fast",
                                          runner.lever_ranks_scenarios(),
                                          {"policy factors and other draws": seed})
        output.write_with_manifest(out_file, result.csv(), manifest, "--out")
        click.echo(f"wrote {out_file} and its manifest", err=True)
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=1))
    elif not out_file:
        click.echo(result.summary())


@cli.command()
@click.argument("scenario")
@click.option("--reference", default="baseline", show_default=True,
              help="Scenario the condition compares SCENARIO with (not-better and worse).")
@click.option("--outcome", default="Margin", show_default=True,
              help="A key outcome of the comparison (Margin, Total Profit, ...).")
@click.option("--year", type=float, default=2035, show_default=True,
              help="Year the outcome is taken in.")
@click.option("--cluster", default=None,
              help="A cluster (Apparel, ...); default: all clusters, the mean of a fraction "
              "(Margin, Buyer Dependence, ...), the sum of anything else.")
@click.option("--condition", type=click.Choice(["not-better", "worse", "below", "above"]),
              default="not-better", show_default=True,
              help="not-better: SCENARIO does not beat the reference; worse: it does worse; "
              "below, above: SCENARIO's outcome against --threshold.")
@click.option("--threshold", type=float, default=None,
              help="The value --condition below or above compares with.")
@click.option("--members", type=int, default=1000, show_default=True,
              help="Parameter sets, each run by SCENARIO and the reference.")
@click.option("--sample", type=click.Choice(["posterior", "priors"]), default="posterior",
              show_default=True,
              help="Draw the estimated parameters from the fit's posterior sample or from the "
              "calibration settings' bounds and priors.")
@click.option("--seed", type=int, default=2003, show_default=True,
              help="Seed of the draws, the bootstrap resamples and the tree.")
@click.option("--with-assumed", is_flag=True,
              help="Also vary the assumed parameters (assumed_factors) in every member.")
@click.option("--factors", "factors_path", type=click.Path(), default=None,
              help="A factors file (TOML): constants to vary too, each uniform within its "
              "bounds (a path, or assumed_factors, the bundled one).")
@click.option("--mass-min", type=float, default=0.05, show_default=True,
              help="Least share of the members a PRIM box (and a CART leaf) holds.")
@click.option("--min-coverage", type=float, default=0.8, show_default=True,
              help="The chosen box is the densest on the peeling trajectory with at least this "
              "coverage.")
@click.option("--bootstraps", type=int, default=20, show_default=True,
              help="Bootstrap resamples over which each restriction's recurrence is counted.")
@click.option("--out", "out_dir", type=click.Path(), default=None,
              help="Write trajectory.csv, box.csv, stability.csv, cart_leaves.csv, "
              "excluded.csv, discovery.json and manifest.json into this folder.")
@click.option("--report", type=click.Path(), default=None,
              help="Write a self-contained HTML report here.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@options.parallel_options
@options.fit_options
def discover(scenario, reference, outcome, year, cluster, condition, threshold, members,
             sample, seed, with_assumed, factors_path, mass_min, min_coverage, bootstraps,
             out_dir, report, as_json, workers, scheduler, fit_path, uncalibrated):
    """Scenario discovery: the boxes of uncertain factors (PRIM, with CART as a cross-check)
    in which SCENARIO does not beat the reference, or its outcome passes a threshold."""
    import json

    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.reports.discovery import discovery_report

    fit = options.chosen_fit(fit_path, uncalibrated)
    options.check_workers(workers)
    output.refuse_empty({"--out": out_dir, "--report": report})
    if report:
        output.check_writable_file(report, "--report")
    if out_dir:
        output.check_writable_dir(out_dir, "--out")
    output.check_separate([("--report", report, False)], folder=("--out", out_dir),
                          inputs={"--factors": factors_path, "--fit": fit_path,
                                  "SCENARIO": options.scenario_file(scenario),
                                  "--reference": options.scenario_file(reference)})
    options.refuse_uncalibrated_posterior(fit, sample == "posterior")
    with Bars() as bars:
        found = runner.discover(scenario, reference, outcome, year, cluster, condition,
                                threshold, members, sample, seed, with_assumed, factors_path,
                                fit, mass_min, min_coverage, bootstraps, workers, scheduler,
                                progress=bars)
    if found.excluded:
        click.echo(f"warning: {len(found.excluded)} of {members} members left out: they leave "
                   f"a declared range (the first: {found.excluded[0].breach.describe()})",
                   err=True)
    scenarios = [runner.scenario(name, "fast", fit) for name in
                 (scenario, found.condition.reference) if name is not None]
    manifest = runner.output_manifest(options.invocation(), fit, "fast", scenarios,
                                      {"draws, bootstrap and tree": seed})
    if out_dir:
        files = found.files()
        files["manifest.json"] = manifest
        output.write_files(out_dir, files, "--out")
        click.echo(f"wrote {len(files)} files to {out_dir}", err=True)
    if report:
        output.write_text(report, discovery_report(found, runner.report_provenance(fit),
                                                   manifest), "--report")
        click.echo(f"wrote {report}", err=True)
    if as_json:
        click.echo(json.dumps(found.as_json(), indent=1))
    elif not out_dir and not report:
        click.echo(found.summary())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
@click.option("--checks", "checks_path", type=click.Path(dir_okay=False),
              help="Behaviour assertions to hold the model to (default: the bundled "
                   "models/checks.toml).")
@options.fit_options
def check(as_json, checks_path, fit_path, uncalibrated):
    """Check the model: units of every equation, integration error (halving TIME STEP), the
    lever matrix (every lever alone at 0, half and full, and all at once) held to the
    behaviour assertions of checks.toml, and the loop knockouts.

    Exits with 1 when a check fails, naming the condition, variable, cluster and time.
    """
    from sd_runner import api as runner
    from sd_runner.reports import check_text

    fit = options.chosen_fit(fit_path, uncalibrated)
    with Bars() as bars:
        result = runner.check_model(fit, checks_path, progress=bars)
    click.echo(check_text.check_json(result) if as_json else check_text.check_text(result))
    if not result.passed:
        raise click.exceptions.Exit(1)


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
def diff(old, new, old_fit, new_fit, threshold, floor, as_json, html_file):
    """Run the lever matrix on two versions of the model and list the key outcomes that move.

    OLD and NEW are each a .mdl file or a fit (a folder or parameters.toml written by
    `sd-runner calibrate`) of the bundled model; NEW defaults to the bundled model. Exits with
    0 when nothing moves beyond the threshold, 1 when something does, 2 for bad input.
    """
    from sd_runner import api as runner
    from sd_runner.outputs import files as output
    from sd_runner.reports import diff as diff_report

    output.refuse_empty({"--html": html_file})
    if html_file:
        output.check_writable_file(html_file, "--html")
        output.check_separate([("--html", html_file, False)],
                              inputs={"OLD": old, "NEW": new, "--old-fit": old_fit,
                                      "--new-fit": new_fit})
    with Bars() as bars:
        found = runner.diff(old, new, old_fit, new_fit, threshold, floor, progress=bars)
    if html_file:
        output.write_text(html_file, diff_report.diff_html(found), "--html")
        click.echo(f"wrote {html_file}", err=True)
    click.echo(diff_report.diff_json(found) if as_json else diff_report.diff_text(found))
    if found.differs:
        raise click.exceptions.Exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def loops(as_json):
    """List every feedback loop of the model: id, polarity, name and variables."""
    from sd_runner import api as runner
    from sd_runner.reports import loops_text

    inventory = runner.loop_inventory()
    click.echo(loops_text.loops_json(inventory) if as_json else loops_text.loops_text(inventory))


def main() -> None:
    """Console entry point: errors are one line each
    (:class:`~sd_runner.cli_group.OneLineErrors`)."""
    cli.main(standalone_mode=True)


if __name__ == "__main__":
    main()
