"""The report's section on totals, rankings and lever cost: all-cluster totals, the scenarios
ranked by each outcome, where those rankings disagree, and the gains per unit of lever cost."""

from __future__ import annotations

import math

from sd_runner.reports.html_page import text
from sd_runner.reports.html_parts import (
    REFERENCE_ROW,
    format_difference,
    format_value,
    shown_decimals,
)
from sd_runner.reports.outcome_info import OUTCOMES
from sd_runner.results.outcomes import BETTER, TOTAL
from sd_runner.results.runs import Comparison


def ranking_section(comparison: Comparison) -> str:
    """The section's HTML (``id="rankings"``)."""
    year = comparison.year
    parts = ['<section id="rankings">', "<h2>Totals, rankings and lever cost</h2>",
             "<h3>Gains per unit of lever cost</h3>",
             _equal_cost_table(comparison),
             "<h3>Where the rankings disagree</h3>",
             _disagreement_table(comparison),
             _closed("All clusters together: the sums of every outcome in money or patents",
                     _totals_table(comparison)),
             _closed(f"Every scenario's rank by each outcome in {year}, per cluster", "\n".join([
                 ("<p>By the difference from the reference in each cluster and, for profit and "
                  "value added, over all clusters: 1 is the best (higher margin, profit, value "
                  "added and own-brand share; lower buyer dependence). The reference ranks "
                  "too, so a lever below it does worse than no lever. Costs are not ranked; "
                  "the gains per unit of cost weigh them.</p>"),
                 _ranking_table(comparison)])),
             "</section>"]
    return "\n".join(parts)


def _closed(summary: str, body: str) -> str:
    """``body`` behind a closed ``<details>``: the evidence, one click away."""
    return f"<details><summary>{text(summary)}</summary>\n{body}\n</details>"


def _totals_table(comparison: Comparison) -> str:
    totals = comparison.totals()
    if totals.empty:
        return "<p>No outcome of the comparison sums over clusters.</p>"
    years = sorted({int(y) for y in totals["year"]})
    head = "".join(f'<th colspan="2">{y}</th>' for y in years)
    sub = "".join("<th>value</th><th>Δ</th>" for _ in years)
    rows = []
    for outcome, group in totals.groupby("outcome", sort=False):
        info = OUTCOMES.get(outcome)
        unit = f" ({text(info.unit)})" if info else ""
        decimals = shown_decimals(list(group["value"]))
        cells = {(r.scenario, int(r.year)): (r.value, r.difference)
                 for r in group.itertuples(index=False)}
        for index, run in enumerate(comparison.runs):
            name = run.scenario.name
            first = index == 0
            label = (f'<th rowspan="{len(comparison.runs)}">{text(outcome)}{unit}</th>'
                     if first else "")
            data = []
            for year in years:
                value, difference = cells.get((name, year), (math.nan, math.nan))
                data.append(f'<td class="num">{format_value(value, False, decimals)}</td>')
                delta = "ref." if first else format_difference(difference, False, decimals)
                data.append(f'<td class="num">{delta}</td>')
            rows.append(f"<tr{REFERENCE_ROW if first else ''}>{label}<td>{text(name)}</td>"
                        f"{''.join(data)}</tr>")
    return ("<p>Sums over the clusters of the outcomes in 100 "
            "million USD or patents (fractions such as the margin are not summed).</p>\n"
            f'<table><thead><tr><th rowspan="2">Outcome</th><th rowspan="2">Scenario</th>{head}'
            f"</tr><tr>{sub}</tr></thead><tbody>\n{chr(10).join(rows)}\n</tbody></table>")


def _ranking_table(comparison: Comparison) -> str:
    rankings = comparison.rankings()
    if rankings.empty:
        return "<p>No outcome of the comparison has a direction of better.</p>"
    outcomes = [o for o in comparison.outcomes if o in BETTER]
    rank = {(r.cluster, r.scenario, r.outcome): r.rank for r in rankings.itertuples()}
    head = "".join(f"<th>{text(o)}</th>" for o in outcomes)
    rows = []
    for cluster in (*comparison.clusters, TOTAL):
        if not any(key[0] == cluster for key in rank):
            continue
        for index, run in enumerate(comparison.runs):
            name = run.scenario.name
            label = (f'<th rowspan="{len(comparison.runs)}">{text(cluster)}</th>'
                     if index == 0 else "")
            cells = "".join(f'<td class="num">{rank.get((cluster, name, o), "")}</td>'
                            for o in outcomes)
            rows.append(f"<tr{REFERENCE_ROW if index == 0 else ''}>{label}"
                        f"<td>{text(name)}</td>{cells}</tr>")
    return (f"<table><thead><tr><th>Cluster</th><th>Scenario</th>{head}</tr></thead>"
            f"<tbody>\n{chr(10).join(rows)}\n</tbody></table>")


def _disagreement_table(comparison: Comparison) -> str:
    table = comparison.disagreements()
    if table.empty:
        return "<p>Every outcome ranks every scenario alike.</p>"
    rows = "".join(
        f"<tr><td>{text(r.scenario)}</td><td>{text(r.cluster)}</td>"
        f'<td>{text(r.best_outcome)}</td><td class="num">{r.best_rank}</td>'
        f'<td>{text(r.worst_outcome)}</td><td class="num">{r.worst_rank}</td></tr>\n'
        for r in table.itertuples())
    return (f"<p>{text(table['statement'].iloc[0])}: the largest gap between a scenario's best "
            f"and worst rank among the outcomes (of {int(table['ranked'].iloc[0])} "
            "scenarios).</p>"
            + _closed(f"All {len(table)} scenarios and clusters whose ranks differ by outcome",
                      "<table><thead><tr><th>Scenario</th><th>Cluster</th><th>Best by</th>"
                      "<th>Rank</th><th>Worst by</th><th>Rank</th></tr></thead>"
                      f"<tbody>\n{rows}</tbody></table>"))


_COST_HEAD = ("<table><thead><tr><th>Cluster</th><th>Scenario</th><th>Added lever cost</th>"
              "<th>Δ profit</th><th>Δ value added</th><th>Δ profit per cost</th>"
              "<th>Δ value added per cost</th></tr></thead>")


def _equal_cost_table(comparison: Comparison) -> str:
    """All clusters together in sight, each cluster's rows behind a ``<details>``."""
    table = comparison.equal_cost()
    if table.empty:
        return "<p>The comparison lacks Total Profit, Value Added or Cumulative Lever Cost.</p>"
    rows: dict[bool, list[str]] = {True: [], False: []}
    scenarios = list(dict.fromkeys(table["scenario"]))
    for cluster, group in table.groupby("cluster", sort=False):
        for index, r in enumerate(group.itertuples()):
            label = f'<th rowspan="{len(scenarios)}">{text(cluster)}</th>' if index == 0 else ""
            rows[cluster == TOTAL].append(
                f"<tr>{label}<td>{text(r.scenario)}</td>"
                f'<td class="num">{format_value(r.added_lever_cost, False, 1)}</td>'
                f'<td class="num">{format_difference(r.cumulative_profit_change, False, 1)}</td>'
                f'<td class="num">{format_difference(r.cumulative_value_added_change, False, 1)}'
                "</td>"
                f'<td class="num">{format_difference(r.profit_per_cost, False, 2)}</td>'
                f'<td class="num">{format_difference(r.value_added_per_cost, False, 2)}</td>'
                "</tr>")
    year = comparison.year
    return (f"<p>Each scenario against the reference, {text(comparison.reference.scenario.name)}"
            f", summed over the run up to {year}: the lever cost it adds (firms and government, "
            "100 million USD) and the change in profit and value added (100 million USD), then "
            "the change per 100 million USD of added cost. A scenario that adds no cost shows "
            "n/a: there is nothing to divide by.</p>"
            f"{_COST_HEAD}<tbody>\n{chr(10).join(rows[True])}\n</tbody></table>"
            + _closed("The same per cluster",
                      f"{_COST_HEAD}<tbody>\n{chr(10).join(rows[False])}\n</tbody></table>"))
