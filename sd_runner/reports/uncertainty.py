"""The uncertainty section of the comparison report: bands over time, the probability that each
scenario beats the reference, and each lever's effect as a ranked chart with intervals."""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sd_runner.reports.html_page import plotly_text, slug, text
from sd_runner.reports.outcome_info import OUTCOMES
from sd_runner.results.outcomes import BETTER, TOTAL
from sd_runner.results.uncertainty import EFFECT_YEAR, UncertainComparison

#: Outcomes drawn with bands and with each scenario's effect (ranked where :data:`BETTER`
#: says which way is better; a cost is shown as a distribution, ordered by its median).
SHOWN = ("Margin", "Buyer Dependence", "Total Profit", "Value Added", "Cumulative Lever Cost")


def uncertainty_section(summary: UncertainComparison, colours: list[str]) -> str:
    """The section's HTML (``id="uncertainty"``); ``colours`` per scenario, in order."""
    sets = summary.sets
    source = {"posterior": "the calibration's posterior sample",
              "priors": "the calibration settings' bounds and priors"}.get(
        sets.source.split(" and ")[0], sets.source)
    if sets.source.endswith("a factors file"):
        source += " and uniformly within the bounds of a factors file"
    parts = [
        '<section id="uncertainty">',
        "<h2>Uncertainty: how sure is the ranking?</h2>",
        (f"<p>Every scenario ran the same {len(sets.values)} parameter sets, drawn from "
         f"{text(source)} with seed {sets.seed}. Because the sets are common to all "
         "scenarios, a lever's effect is taken member by member against the reference, "
         f"<strong>{text(summary.reference)}</strong>. Parameters not listed keep their "
         "values.</p>"),
        _exclusion_paragraph(summary),
        (f"<details><summary>The {len(sets.names)} parameters varied</summary><p>"
         f"{text(', '.join(sets.names))}</p></details>"),
        "<h3>Probability of beating the reference in "
        f"{EFFECT_YEAR:g}</h3>",
        _probability_table(summary),
    ]
    for outcome in SHOWN:
        if outcome not in summary.outcomes:
            continue
        parts.append(f"<h3>{text(outcome)}: median and 5-95 % band</h3>")
        parts.append(_html(_band_figure(summary, outcome, colours),
                           f"fig-band-{slug(outcome)}"))
        ranked = outcome in BETTER
        parts.append(f"<h3>{text(outcome)}: effect of each scenario in {EFFECT_YEAR:g}"
                     f"{', ranked' if ranked else ''}</h3>")
        order = ("the best on average over the clusters at the top" if ranked
                 else "a cost, not ranked: ordered from the least added to the most")
        parts.append('<p class="caption">Median effect (scenario minus reference, member by '
                     f"member) with its 5-95 % interval; {order}.</p>")
        parts.append(_html(_effect_figure(summary, outcome, colours),
                           f"fig-effect-{slug(outcome)}"))
    parts.append("</section>")
    return "\n".join(parts)


def _exclusion_paragraph(summary: UncertainComparison) -> str:
    note = summary.exclusion_note()
    if not summary.excluded:
        return f"<p>{text(note[0].upper() + note[1:])}.</p>"
    return (f"<p><strong>Sets left out.</strong> "
            f"{text(note)}. Every statistic below uses the other "
            f"{int(summary.kept.sum())} sets.</p>")


def _html(figure: go.Figure, div_id: str) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                          config={"displaylogo": False, "responsive": True})


def _probability_table(summary: UncertainComparison) -> str:
    table = summary.effect_table()
    table = table[table["outcome"].isin(BETTER)]
    shown = [o for o in summary.outcomes if o in BETTER]
    places = {o: [*summary.clusters, *([TOTAL] if (table["outcome"].eq(o)
                                                   & table["cluster"].eq(TOTAL)).any() else [])]
              for o in shown}
    header = "".join(f"<th>{text(c)}: {'higher' if BETTER[o] > 0 else 'lower'} "
                     f"{text(o.lower())}</th>"
                     for o in shown for c in places[o])
    rows = []
    for scenario in summary.scenarios[1:]:
        cells = []
        for outcome in shown:
            for cluster in places[outcome]:
                match = table[(table["scenario"] == scenario.name)
                              & (table["outcome"] == outcome) & (table["cluster"] == cluster)]
                cells.append(f'<td class="num">{match["probability"].iloc[0]:.0%}</td>'
                             if len(match) else "<td></td>")
        rows.append(f"<tr><td><strong>{text(scenario.name)}</strong></td>{''.join(cells)}</tr>")
    return (f"<table><thead><tr><th>Scenario</th>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _band_figure(summary: UncertainComparison, outcome: str, colours: list[str]) -> go.Figure:
    clusters = summary.clusters
    columns = min(len(clusters), 4) or 1  # the clusters side by side, as the main figures
    rows = max(1, math.ceil(len(clusters) / columns))
    figure = make_subplots(rows=rows, cols=columns, shared_xaxes=True,
                           subplot_titles=[plotly_text(c) for c in clusters],
                           horizontal_spacing=0.06, vertical_spacing=0.14)
    o = summary.outcomes.index(outcome)
    x = summary.times.astype(float)
    for index, scenario in enumerate(summary.scenarios):
        band = summary.bands[scenario.name]
        colour = colours[index]
        for c, _cluster in enumerate(clusters):
            row, col = c // columns + 1, c % columns + 1
            group = f"band-{index}"
            figure.add_trace(go.Scatter(x=x, y=band[2, :, o, c], mode="lines",
                                        line={"width": 0, "color": colour}, legendgroup=group,
                                        showlegend=False, hoverinfo="skip"), row=row, col=col)
            figure.add_trace(go.Scatter(x=x, y=band[0, :, o, c], mode="lines", fill="tonexty",
                                        line={"width": 0, "color": colour},
                                        fillcolor=_translucent(colour), legendgroup=group,
                                        showlegend=False, hoverinfo="skip"), row=row, col=col)
            figure.add_trace(go.Scatter(x=x, y=band[1, :, o, c], mode="lines",
                                        name=plotly_text(scenario.name), legendgroup=group,
                                        showlegend=c == 0, line={"color": colour, "width": 2},
                                        hovertemplate=f"%{{y:{_format(outcome)}}}"),
                          row=row, col=col)
    info = OUTCOMES.get(outcome)
    figure.update_yaxes(tickformat=".0%" if _fraction(outcome) else ",.4~g",
                        title_text=plotly_text(info.unit) if info else "",
                        title_font_size=11)
    figure.update_xaxes(showticklabels=True)
    figure.update_layout(template="plotly_white", height=250 * rows + 150,
                         margin={"l": 60, "r": 20, "t": 80, "b": 40}, hovermode="x unified",
                         legend={"orientation": "h", "x": 0, "y": 1.08, "yanchor": "bottom",
                                 "font": {"size": 11}})
    return figure


def _translucent(colour: str, alpha: float = 0.15) -> str:
    """``#rrggbb`` as ``rgba(...)`` with ``alpha``, so overlapping bands stay readable."""
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _effect_figure(summary: UncertainComparison, outcome: str, colours: list[str]
                   ) -> go.Figure:
    table = summary.effect_table()
    table = table[table["outcome"] == outcome]
    clusters = summary.clusters
    # One panel per cluster, side by side, the scenarios in one order in all: by their mean
    # median effect over the clusters, the best (or, for a cost, the cheapest) at the top.
    order = (table[table["cluster"].isin(clusters)].groupby("scenario", sort=False)["p50"]
             .mean().mul(-BETTER.get(outcome, -1)).sort_values(kind="stable"))
    height = 90 + 26 * len(order)
    figure = make_subplots(rows=1, cols=len(clusters), shared_yaxes=True,
                           subplot_titles=[plotly_text(c) for c in clusters],
                           horizontal_spacing=0.035)
    colour_of = {s.name: colours[i] for i, s in enumerate(summary.scenarios)}
    # A fraction's effect is a difference of percentages: percentage points, not %.
    scale = 100.0 if _fraction(outcome) else 1.0
    names = [plotly_text(s) for s in order.index]
    for c, cluster in enumerate(clusters, start=1):
        mine = table[table["cluster"] == cluster].set_index("scenario").loc[order.index]
        figure.add_trace(go.Scatter(
            x=scale * mine["p50"], y=names, mode="markers",
            marker={"color": [colour_of[s] for s in mine.index], "size": 9},
            error_x={"type": "data", "symmetric": False,
                     "array": scale * (mine["p95"] - mine["p50"]).to_numpy(),
                     "arrayminus": scale * (mine["p50"] - mine["p05"]).to_numpy()},
            showlegend=False, hovertemplate=(
                "%{x:.2f} pp<extra>%{y}</extra>" if _fraction(outcome)
                else f"%{{x:{_format(outcome)}}}<extra>%{{y}}</extra>")), row=1, col=c)
        figure.add_vline(x=0, line={"color": "#888", "width": 1, "dash": "dot"}, row=1, col=c)
    figure.update_yaxes(autorange="reversed")  # the first in the order at the top
    info = OUTCOMES.get(outcome)
    unit = "percentage points" if _fraction(outcome) else (info.unit if info else "")
    figure.update_xaxes(tickformat=",.4~g", ticksuffix=" pp" if _fraction(outcome) else "")
    figure.update_xaxes(title_text=plotly_text(f"effect ({unit})"), title_font_size=10)
    figure.update_layout(template="plotly_white", height=height + 60,
                         margin={"l": 160, "r": 20, "t": 40, "b": 50})
    return figure


def _fraction(outcome: str) -> bool:
    info = OUTCOMES.get(outcome)
    return bool(info and info.fraction)


def _format(outcome: str) -> str:
    """Plotly's number format for ``outcome``'s values."""
    return ".2%" if _fraction(outcome) else ",.4~g"
