"""The text forms of results: CSV files, JSON, HTML pages and plain-text summaries of
comparisons and sensitivity analyses. Pure functions of the results, so the same result gives
the same bytes."""

from __future__ import annotations

import io
import math

import pandas as pd

from sd_runner.reports import findings_text
from sd_runner.reports.outcome_info import OUTCOMES
from sd_runner.results.findings import key_findings
from sd_runner.results.outcomes import TOTAL
from sd_runner.results.runs import Comparison, ScenarioRun
from sd_runner.results.uncertainty import QUANTILES


def wide_csv(result: ScenarioRun) -> str:
    """The run as a wide CSV: a ``time`` column, then one column per variable and element."""
    buffer = io.StringIO()
    # Floats throughout, so both engines (PySD keeps integer constants as integers) write
    # the same text.
    result.frame.astype(float).to_csv(buffer, index=True, index_label="time",
                                      lineterminator="\n")
    return buffer.getvalue()


def comparison_csvs(comparison: Comparison) -> dict[str, str]:
    """File name to CSV text: one wide CSV per scenario, ``outcomes.csv``, the totals,
    rankings and equal-cost tables and, when scored, the uncertainty and loop tables."""
    files = {f"{run.scenario.name}.csv": wide_csv(run) for run in comparison.runs}
    files["outcomes.csv"] = _csv(comparison.table)
    if not comparison.table.empty:
        files["outcome_totals.csv"] = _csv(comparison.totals())
        files["rankings.csv"] = _csv(comparison.rankings())
        files["ranking_disagreements.csv"] = _csv(comparison.disagreements())
        files["equal_cost.csv"] = _csv(comparison.equal_cost())
    if comparison.uncertainty is not None:
        files["uncertainty_bands.csv"] = _csv(comparison.uncertainty.band_table())
        files["uncertainty_effects.csv"] = _csv(comparison.uncertainty.effect_table())
        files["uncertainty_excluded.csv"] = _csv(comparison.uncertainty.excluded_table())
    if comparison.loops is not None:
        files["loops.csv"] = _csv(comparison.loops.inventory())
        files["loop_scores.csv"] = _csv(comparison.loops.relative_scores())
        files["dominant_loops.csv"] = _csv(comparison.loops.dominance())
        files["loop_shifts.csv"] = _csv(comparison.loops.shifts())
    return files


def _csv(table) -> str:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def comparison_json(comparison: Comparison) -> str:
    """The comparison as one JSON object: the key findings first (their data and sentences),
    scenarios, the outcome table and, when scored, the loops (inventory, relative scores per
    interval, dominant periods, shifts)."""
    import json

    findings = key_findings(comparison)
    record = {
        "findings": {**findings.as_json(), "headlines": findings_text.headlines(findings)},
        "scenarios": [{"name": run.scenario.name, "title": run.scenario.title}
                      for run in comparison.runs],
        "reference": comparison.reference.scenario.name,
        "outcomes": comparison.table.to_dict(orient="records"),
    }
    if not comparison.table.empty:
        record.update({
            "ranking_year": comparison.year,
            "totals": comparison.totals().to_dict(orient="records"),
            "rankings": comparison.rankings().to_dict(orient="records"),
            "ranking_disagreements": comparison.disagreements().to_dict(orient="records"),
            "equal_cost": _records(comparison.equal_cost()),
        })
    uncertain = comparison.uncertainty
    if uncertain is not None:
        bands = uncertain.band_table()
        record["uncertainty"] = {
            "members": len(uncertain.sets.values), "sample": uncertain.sets.source,
            "seed": uncertain.sets.seed, "parameters": list(uncertain.sets.names),
            "quantiles": list(QUANTILES),
            "members_kept": int(uncertain.kept.sum()),
            "excluded_sets": [e.record() for e in uncertain.excluded],
            "bands": [{"scenario": scenario, "outcome": outcome, "cluster": cluster,
                       "times": group["time"].tolist(), "p05": group["p05"].tolist(),
                       "p50": group["p50"].tolist(), "p95": group["p95"].tolist()}
                      for (scenario, outcome, cluster), group in
                      bands.groupby(["scenario", "outcome", "cluster"], sort=False)],
            "effects": _records(uncertain.effect_table()),
        }
    loops = comparison.loops
    if loops is not None:
        scores = loops.relative_scores()
        series = [{"scenario": scenario, "cluster": cluster, "loop": loop,
                   "times": group["time"].tolist(), "relative": group["relative"].tolist()}
                  for (scenario, cluster, loop), group in
                  scores.groupby(["scenario", "cluster", "loop"], sort=False)]
        record["loops"] = {
            "method": loops.method, "window": loops.window, "interval": loops.interval,
            "inventory": [{"id": loop.id, "name": loop.name, "polarity": loop.polarity,
                           "variables": list(loop.variables)} for loop in loops.loops],
            "relative_scores": series,
            "dominance": [{**row, "loops": row["loops"].split(), "names": row["names"].split("; ")}
                          for row in loops.dominance().to_dict(orient="records")],
            "shifts": loops.shifts().to_dict(orient="records"),
        }
    return json.dumps(record, indent=1, allow_nan=False)


def _records(table) -> list[dict]:
    """Rows as dicts, with not-a-number (not applicable) as null."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in table.to_dict(orient="records")]


def comparison_html(comparison: Comparison, generated_by: str = "", manifest: str = "") -> str:
    """The HTML report of a comparison, with the output's manifest at its end;
    ``generated_by``: the provenance its header shows (the version and the model's hash)."""
    from sd_runner.reports.comparison import comparison_report

    return comparison_report(comparison, generated_by=generated_by, manifest=manifest)


def findings_summary(comparison: Comparison) -> str:
    """Plain text, about 25 lines: the key findings of the comparison (which scenario improves
    each headline outcome most, the longest worse-before-better dips, where margin and the
    money outcomes disagree)."""
    return findings_text.findings_summary(key_findings(comparison))


#: Outcomes of the plain-text summary, with their units.
#: Outcomes of the plain-text summary; their units (fractions in %, as in every report) are
#: those of :data:`sd_runner.reports.outcome_info.OUTCOMES`.
SUMMARY_OUTCOMES = ("Margin", "Buyer Dependence", "Total Profit", "Value Added",
                    "Cumulative Lever Cost")


def outcome_summary(comparison: Comparison, year: int = 2035) -> str:
    """Plain text: margin, buyer dependence, total profit, value added and cumulative lever
    cost in ``year`` per cluster (and over all clusters where they sum), then where the
    rankings disagree and the gains per unit of lever cost."""
    table = comparison.table
    rows = table[(table["year"] == year) & table["outcome"].isin(SUMMARY_OUTCOMES)]
    totals = comparison.totals()
    totals = totals[(totals["year"] == year) & totals["outcome"].isin(SUMMARY_OUTCOMES)]
    rows = pd.concat([rows, totals.assign(cluster=TOTAL)], ignore_index=True)
    lines = [f"Outcomes in {year}:"]
    for outcome, group in rows.groupby("outcome", sort=False):
        wide = group.pivot_table(index="scenario", columns="cluster", values="value",
                                 sort=False)
        info = OUTCOMES[outcome]
        shown = wide * 100 if info.fraction else wide
        lines += ["", f"{outcome} ({info.unit})", shown.round(2).to_string()]
    disagreements = comparison.disagreements()
    if len(disagreements):
        lines += ["", "Where the rankings disagree (largest gaps):"]
        lines += [f"  {statement}" for statement in disagreements["statement"].head(10)]
    cost = comparison.equal_cost()
    cost = cost[cost["cluster"] == TOTAL]
    if len(cost):
        lines += ["", f"All clusters, summed over the run to {comparison.year}: added lever "
                  "cost, change in profit and value added (100 million USD), and each change "
                  "per unit of cost (n/a: no added cost):"]
        shown = cost.set_index("scenario")[["added_lever_cost", "cumulative_profit_change",
                                            "cumulative_value_added_change", "profit_per_cost",
                                            "value_added_per_cost"]]
        lines.append(shown.round(2).to_string(na_rep="n/a"))
    return "\n".join(lines)


def dominance_summary(loops) -> str:
    """Plain text: per scenario and cluster, the loops dominating each period."""
    names = {loop.id: loop.name or loop.id for loop in loops.loops}
    lines = [f"Dominant feedback loops (windows of {loops.window:g} years):"]
    for row in loops.dominance().itertuples():
        members = ", ".join(names[i] for i in row.loops.split())
        place = row.cluster or "Province"
        lines.append(f"  {row.scenario:<22} {place:<10} {row.start:g}-{row.end:g} "
                     f"{row.polarity} {row.share:4.0%}  {members}")
    return "\n".join(lines)


def sensitivity_csv(result) -> str:
    """The indices as CSV (long: outcome, factor, other, index, value, confidence)."""
    return _csv(result.indices)


def sensitivity_html(result, generated_by: str = "", manifest: str = "") -> str:
    """The HTML report of a sensitivity analysis, with the output's manifest at its end;
    ``generated_by`` as for :func:`comparison_html`."""
    from sd_runner.reports.sensitivity import sensitivity_report

    return sensitivity_report(result, generated_by=generated_by, manifest=manifest)


def sensitivity_summary(result, shown: int = 5) -> str:
    """Plain text: per outcome, the parameters with the largest total (Sobol) or mu* (Morris)."""
    key = "ST" if result.method == "sobol" else "mu_star"
    lines = [f"{result.method.capitalize()} indices from {result.samples} runs ({key}, "
             f"{result.level:.0%} interval), largest first:"]
    table = result.indices[result.indices["index"] == key]
    for outcome, group in table.groupby("outcome", sort=False):
        lines.append(f"  {outcome}")
        for row in group.sort_values("value", ascending=False, kind="stable").head(
                shown).itertuples():
            lines.append(f"    {row.factor:<45} {row.value:9.4g} +- {row.confidence:.2g}")
    return "\n".join(lines)
