"""A calibration's fit as one self-contained HTML page.

The page shows the data against the fitted model per series and cluster, the fit statistics,
the identifiability of every estimated parameter, their correlations and profile likelihoods,
the rows left out and every compared row. Like the scenario comparison report
(:mod:`sd_runner.report`, whose look and escaping it shares) it embeds plotly.js once, so it
works offline, and it is a pure function of the calibration: it runs no model and reads no file.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots
from scipy import stats

from sd_runner.html_page import PAGE_CSS as _CSS
from sd_runner.html_page import plotly_text as _plotly_text
from sd_runner.html_page import slug as _slug
from sd_runner.html_page import text as _text
from sd_runner.html_page import unique_ids as _unique_ids
from sd_runner.observations import decimal_year

if TYPE_CHECKING:
    from sd_runner.calibration.calibrate import Calibration

TITLE = "Calibration fit report"
#: Colours of the model's path, the observations, the simulated period values and flagged
#: parameters.
TRAJECTORY_COLOUR = "#555555"
OBSERVED_COLOUR = "#1f77b4"
SIMULATED_COLOUR = "#ff7f0e"
FLAGGED_COLOUR = "#d62728"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}
_FLAGGED = ' class="flagged"'
_DERIVED = ' class="derived"'

_FIT_CSS = """
tr.flagged td { background: #fff1e0; }
tr.derived td { color: #555; font-style: italic; }
th.row { text-align: left; font-weight: normal; background: #f9f9f9; white-space: nowrap; }
td.wide { min-width: 13em; max-width: 36em; overflow-wrap: anywhere; }
td.nowrap { white-space: nowrap; }
table.compact { font-size: 0.84em; }
.scroll { overflow-x: auto; }
dl.explain dt { font-weight: 600; float: left; clear: left; width: 5em; }
dl.explain dd { margin-left: 5.5em; margin-bottom: 0.3em; }
"""


def fit_report(calibration: Calibration, generated_by: str) -> str:
    """The calibration's fit as one self-contained HTML document.

    Parameters
    ----------
    calibration : Calibration
        Result of :func:`sd_runner.calibration.calibrate.calibrate`; ``intervals`` and
        ``posterior`` may be None (a run without uncertainty).
    generated_by : str
        Provenance shown in the header, e.g. the package version and the command.

    Returns
    -------
    str
        The HTML document. It embeds plotly.js once and loads nothing from the network; the same
        calibration gives the same text. Every observation segment drawn is one row of
        ``calibration.rows``: its traces carry the row's position as ``customdata``, and each
        series' figure is wrapped in an element whose ``data-observation-segments`` counts them.
    """
    rows = calibration.rows.reset_index(drop=True)
    series = list(dict.fromkeys(rows["series"]))
    slugs = _unique_ids([_slug(name) for name in series])
    body = [
        _header(calibration, rows, generated_by),
        _contents(series, slugs),
        _fit_section(calibration, rows, series, slugs),
        _statistics_section(calibration, rows),
        _parameters_section(calibration),
        _correlation_section(calibration),
        _profiles_section(calibration),
        _not_compared_section(calibration),
        _rows_section(rows),
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{TITLE}</title>",
        f"<style>{_CSS}{_FIT_CSS}</style>",
        # plotly.js reads this before it loads, as in plotly's own full-page output.
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>",
        f'<script charset="utf-8">{get_plotlyjs()}</script>',
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        "",
    ])


# ---------------------------------------------------------------------------------- header


def _header(calibration: Calibration, rows: pd.DataFrame, generated_by: str) -> str:
    dof = calibration.dof
    per_dof = _number(calibration.chi_square / dof) if dof > 0 else "n/a"
    summary = [
        ("Method", _text(calibration.method)),
        ("Seed", _text(calibration.seed)),
        ("Parameters estimated", str(len(calibration.names))),
        ("Rows compared", f"{len(rows)} ({len(calibration.skipped)} not compared)"),
        ("Chi-square", _number(calibration.chi_square)),
        ("Degrees of freedom", f"{dof} (rows plus priors minus parameters)"),
        ("Chi-square per degree of freedom", per_dof),
        ("Interval scale", _number(calibration.scale)),
        ("Confidence level", f"{_level(calibration)} %"),
        ("Posterior sample", _posterior_summary(calibration.posterior)),
    ]
    data_path = getattr(calibration, "data_path", "")
    if data_path:
        digest = getattr(calibration, "data_digest", "")[:12]
        summary.append(("Data", f"{_text(data_path)} (sha256 {_text(digest)}…)"))
    table = "".join(f'<tr><th class="row">{key}</th><td>{value}</td></tr>'
                    for key, value in summary)
    return "\n".join(part for part in [
        "<header>",
        f"<h1>{TITLE}</h1>",
        f'<p class="meta">Generated by: {_text(generated_by)}</p>' if generated_by else "",
        f'<table id="summary"><tbody>{table}</tbody></table>',
        ("<p>How to read it: each row's error is measured on its series' scale (log or linear, "
         "see the series mappings) and divided by the series' sigma; chi-square adds up their "
         "squares and the prior terms. If the model fits as well as the sigmas claim, "
         "chi-square is about the degrees of freedom. When it is larger, the interval scale "
         "(chi-square per degree of freedom, never below 1) widens every interval to match the "
         "misfit actually found.</p>"),
        "</header>",
    ] if part)


def _posterior_summary(posterior) -> str:
    if posterior is None:
        return "not computed (calibration run without uncertainty)"
    tau = np.asarray(posterior.autocorrelation_time, dtype=float)
    tau_text = (f"median autocorrelation time {_number(float(np.median(tau[np.isfinite(tau)])))}"
                " steps" if np.isfinite(tau).any() else "chain too short for autocorrelation "
                "times")
    return (f"{len(posterior.sample):,} parameter sets drawn from a chain of "
            f"{len(posterior.chain):,}; acceptance {posterior.acceptance:.2f}; {tau_text}")


def _contents(series: list[str], slugs: list[str]) -> str:
    figures = "".join(f'<li><a href="#series-{slug}">{_text(name)}</a></li>'
                      for name, slug in zip(series, slugs, strict=True))
    return (
        "<nav><h2>Contents</h2><ul>"
        f'<li><a href="#fit">Observed against simulated</a><ul>{figures}</ul></li>'
        '<li><a href="#statistics">Fit statistics</a></li>'
        '<li><a href="#parameters">Parameters</a></li>'
        '<li><a href="#correlation">Correlations of the estimates</a></li>'
        '<li><a href="#profiles">Profile likelihood</a></li>'
        '<li><a href="#not-compared">Rows not compared and series mappings</a></li>'
        '<li><a href="#rows">Every compared row</a></li>'
        "</ul></nav>"
    )


# ------------------------------------------------------------------------ observed vs model


def _fit_section(calibration: Calibration, rows: pd.DataFrame, series: list[str],
                 slugs: list[str]) -> str:
    parts = [
        '<section id="fit">',
        "<h2>Observed against simulated</h2>",
        ("<p>One panel per cluster. The grey line is the model at the best fit; each "
         "observation is a horizontal segment over its period (blue: reported, solid with a "
         "filled marker; derived: dotted with an open marker), and the model's value over the "
         "same period is the orange dashed segment. Flows are shown as rates per year with the "
         "seasonality of part-year periods taken out, so they sit on the model's path. Hover "
         "over a segment for its values and source.</p>"),
    ]
    for name, slug in zip(series, slugs, strict=True):
        group = rows[rows["series"] == name]
        mapping = calibration.config.series.get(name)
        unit = _axis_unit(group["unit"].iloc[0], mapping)
        figure = _series_figure(calibration.trajectories, group, name, unit)
        plot = figure.to_html(full_html=False, include_plotlyjs=False,
                              div_id=f"fig-series-{slug}", config=_PLOT_CONFIG)
        variable = f" Model variable: {_text(mapping.variable)}." if mapping else ""
        parts.append(
            f'<h3 id="series-{slug}">{_text(name)} ({_text(unit)})</h3>\n'
            f'<div class="figure" data-series="{_text(name)}" data-figure="fig-series-{slug}" '
            f'data-observation-segments="{len(group)}">\n{plot}\n</div>\n'
            f'<p class="caption">{len(group)} rows.{variable}</p>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def _axis_unit(unit: str, mapping) -> str:
    return f"{unit}/year" if mapping is not None and mapping.kind == "flow" else str(unit)


def _series_figure(trajectories: pd.DataFrame, group: pd.DataFrame, series: str,
                   unit: str) -> go.Figure:
    clusters = list(dict.fromkeys(group["cluster"]))
    columns = 2 if len(clusters) > 1 else 1
    rows = math.ceil(len(clusters) / columns)
    figure = make_subplots(
        rows=rows, cols=columns, subplot_titles=[_plotly_text(c) for c in clusters],
        horizontal_spacing=0.09, vertical_spacing=min(0.14, 0.5 / rows) if rows > 1 else 0.1,
    )
    shown: set[str] = set()
    for position, cluster in enumerate(clusters):
        subset = group[group["cluster"] == cluster]
        for trace in _cluster_traces(trajectories, subset, series, unit):
            trace.showlegend = trace.legendgroup not in shown
            shown.add(trace.legendgroup)
            figure.add_trace(trace, row=position // columns + 1, col=position % columns + 1)
    figure.update_yaxes(title_text=_plotly_text(unit), title_font_size=11)
    figure.update_xaxes(title_text="Year", row=rows)
    figure.update_layout(
        template="plotly_white", height=260 * rows + 150, hovermode="closest",
        margin={"l": 70, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "x": 0, "y": -0.12 if rows > 1 else -0.25,
                "yanchor": "top"},
    )
    return figure


def _cluster_traces(trajectories: pd.DataFrame, subset: pd.DataFrame, series: str,
                    unit: str) -> list[go.Scatter]:
    traces = []
    for variable in dict.fromkeys(subset["variable"]):
        if variable in trajectories.columns:
            path = trajectories[variable]
            traces.append(go.Scatter(
                x=path.index.to_numpy(dtype=float), y=path.to_numpy(dtype=float),
                mode="lines", name="model (best fit)", legendgroup="model",
                line={"color": TRAJECTORY_COLOUR, "width": 1.5},
                hovertemplate=f"{_plotly_text(variable)}<br>%{{x:.2f}}: %{{y:,.4g}}"
                              "<extra></extra>",
            ))
    for basis, dash, symbol in (("reported", "solid", "circle"),
                                ("derived", "dot", "circle-open")):
        observed = subset[subset["basis"] == basis]
        if len(observed):
            traces.append(_segments(observed, "observed_rate", f"observed ({basis})",
                                    f"observed-{basis}", OBSERVED_COLOUR, dash, symbol, 4,
                                    series, unit))
    traces.append(_segments(subset, "simulated_rate", "simulated over the period",
                            "simulated", SIMULATED_COLOUR, "dash", "diamond", 2.5, series, unit))
    return traces


def _segments(subset: pd.DataFrame, column: str, name: str, group: str, colour: str,
              dash: str, symbol: str, width: float, series: str, unit: str) -> go.Scatter:
    """One horizontal segment per row, at ``column``, over the row's period.

    Each segment is three points (start, middle with a marker, end) and a gap; every point
    carries the row's position in ``calibration.rows`` as ``customdata``.
    """
    x, y, text, position, size = [], [], [], [], []
    for index, row in subset.iterrows():
        start, end = _period(row["period_start"], row["period_end"])
        value = float(row[column])
        hover = _hover(row, series, unit)
        x += [start, (start + end) / 2, end, None]
        y += [value, value, value, None]
        text += [hover, hover, hover, None]
        position += [int(index)] * 3 + [None]
        size += [0, 8, 0, 0]
    return go.Scatter(
        x=x, y=y, mode="lines+markers", name=name, legendgroup=group, customdata=position,
        hovertext=text, hoverinfo="text", meta={"role": group.split("-")[0]},
        line={"color": colour, "width": width, "dash": dash},
        marker={"color": colour, "size": size, "symbol": symbol, "line": {"width": 2}},
    )


def _period(start: str, end: str) -> tuple[float, float]:
    """An inclusive ISO period as decimal years: its start and the midnight ending it."""
    last = dt.date.fromisoformat(str(end)) + dt.timedelta(days=1)
    return decimal_year(dt.date.fromisoformat(str(start))), decimal_year(last)


def _hover(row: pd.Series, series: str, unit: str) -> str:
    lines = [
        f"<b>{_plotly_text(series)} / {_plotly_text(row['cluster'])}</b>",
        f"{_plotly_text(row['period_start'])} to {_plotly_text(row['period_end'])}",
        f"observed {_number(row['observed'], 5)}, simulated {_number(row['simulated'], 5)} "
        f"{_plotly_text(row['unit'])}",
    ]
    if row["observed_rate"] != row["observed"] or row["simulated_rate"] != row["simulated"]:
        lines.append(f"as rates: {_number(row['observed_rate'], 5)} and "
                     f"{_number(row['simulated_rate'], 5)} {_plotly_text(unit)}")
    lines.append(f"error {_signed(row['percent_error'])} %")
    lines.append(f"basis: {_plotly_text(row['basis'])}; line {_plotly_text(row['line'])}")
    lines += [_plotly_text(part) for part in
              textwrap.wrap(f"source: {row['source']}", 70, break_long_words=True)]
    return "<br>".join(lines)


# ------------------------------------------------------------------------------ statistics


def _statistics_section(calibration: Calibration, rows: pd.DataFrame) -> str:
    units = dict(zip(rows["series"], rows["unit"], strict=True))
    body = []
    for record in calibration.statistics.to_dict("records"):
        overall = record["series"] == "overall"
        unit = "weighted (payoff scale)" if overall else units.get(record["series"], "")
        body.append(
            f"<tr><td>{'<strong>overall</strong>' if overall else _text(record['series'])}</td>"
            f'<td class="num">{int(record["n"])}</td>'
            f'<td class="num">{_fixed(record["r2"], 3)}</td>'
            f'<td class="num">{_fixed(record["mape_percent"], 2)}</td>'
            f'<td class="num">{_number(record["rmse"])}</td><td>{_text(unit)}</td>'
            + "".join(f'<td class="num">{_fixed(record[key], 3)}</td>'
                      for key in ("theil_um", "theil_us", "theil_uc"))
            + "</tr>"
        )
    return "\n".join([
        '<section id="statistics">',
        "<h2>Fit statistics</h2>",
        "<table><thead><tr><th>Series</th><th>n</th><th>R²</th><th>MAPE (%)</th><th>RMSE</th>"
        "<th>RMSE unit</th><th>U<sup>M</sup></th><th>U<sup>S</sup></th><th>U<sup>C</sup></th>"
        f"</tr></thead>\n<tbody>\n{chr(10).join(body)}\n</tbody></table>",
        '<dl class="explain">',
        "<dt>R²</dt><dd>Share of the observed values' variation about their mean that the "
        "model reproduces (1 is perfect; below 0 is worse than the mean).</dd>",
        "<dt>MAPE</dt><dd>Mean absolute percent error of the simulated against the observed "
        "values.</dd>",
        "<dt>RMSE</dt><dd>Root mean squared error, in the series' units (overall: of the "
        "weighted errors the fit minimises).</dd>",
        "<dt>U<sup>M</sup></dt><dd>Share of the mean squared error due to bias (unequal "
        "means).</dd>",
        "<dt>U<sup>S</sup></dt><dd>Share due to unequal variation (the model swings more or "
        "less than the data).</dd>",
        "<dt>U<sup>C</sup></dt><dd>Share due to imperfect covariation (unsystematic point "
        "error); a good fit puts most of its error here. The three shares sum to 1.</dd>",
        "</dl>",
        "</section>",
    ])


# ------------------------------------------------------------------------------ parameters


def _parameters_section(calibration: Calibration) -> str:
    level = _level(calibration)
    body = []
    for record in calibration.parameters.to_dict("records"):
        flagged = record["verdict"] != "identified"
        reaches = record.get("interval_reaches_bound") or ""
        note = f"<br><small>reaches the {_text(reaches)} bound</small>" if reaches else ""
        prior = ("uniform" if not _finite(record.get("prior_mean"))
                 else f"{_number(record['prior_mean'])} ± {_number(record['prior_sd'])}")
        partner = record.get("most_correlated_with") or ""
        correlation = (f"{_text(partner)} ({_signed(record['correlation'], 2)})" if partner
                       else "—")
        profile = _range(record.get(f"profile_{level}_lower"),
                         record.get(f"profile_{level}_upper"))
        posterior = _range(record.get("posterior_2.5"), record.get("posterior_97.5"))
        body.append(
            f"<tr{_FLAGGED if flagged else ''}><td>{_text(record['parameter'])}</td>"
            f'<td class="num">{_number(record["estimate"])}<br>'
            f'<small>± {_number(record["standard_error"])}</small></td>'
            f'<td class="num">{_range(record["lower_bound"], record["upper_bound"])}</td>'
            f'<td class="num">{profile}{note}</td><td class="num">{posterior}</td>'
            f'<td class="num">{prior}</td><td>{correlation}</td>'
            f'<td class="wide">{_text(record["verdict"])}</td></tr>'
        )
    figure = _estimates_figure(calibration, level)
    plot = figure.to_html(full_html=False, include_plotlyjs=False, div_id="fig-estimates",
                          config=_PLOT_CONFIG)
    return "\n".join([
        '<section id="parameters">',
        "<h2>Parameters</h2>",
        (f"<p>Estimates with their bounds, linearised standard error, {level} % "
         "profile-likelihood interval, posterior 95 % range (MCMC), prior and the "
         "estimate they are most correlated with. Highlighted rows are not identified: the "
         "verdict says why.</p>"),
        '<div class="scroll"><table class="compact"><thead><tr><th>Parameter</th>'
        "<th>Estimate ± std. error</th><th>Bounds</th>"
        f"<th>Profile {level} % interval</th><th>Posterior 95 %</th><th>Prior</th>"
        "<th>Most correlated with</th><th>Verdict</th></tr></thead>\n"
        f"<tbody>\n{chr(10).join(body)}\n</tbody></table></div>",
        "<h3>Estimates within their bounds</h3>",
        plot,
        (f'<p class="caption">Each parameter on its own bounds: 0 is the lower bound, 1 the '
         f"upper. Thick light bar: {level} % profile interval; thin dark line: posterior "
         "95 % range; dot: estimate (red when not identified); cross: prior mean.</p>"),
        "</section>",
    ])


def _estimates_figure(calibration: Calibration, level: int) -> go.Figure:
    table = calibration.parameters
    lower, upper = table["lower_bound"].to_numpy(float), table["upper_bound"].to_numpy(float)
    names = [_plotly_text(name) for name in table["parameter"]]

    def scaled(column: str) -> np.ndarray:
        values = table[column].to_numpy(float) if column in table else np.full(len(table), np.nan)
        return (values - lower) / (upper - lower)

    figure = go.Figure()
    for low, high, label, colour, width in (
            (f"profile_{level}_lower", f"profile_{level}_upper", f"profile {level} % interval",
             "rgba(31, 119, 180, 0.3)", 10),
            ("posterior_2.5", "posterior_97.5", "posterior 95 %", "#333333", 2)):
        x, y = [], []
        for name, a, b in zip(names, scaled(low), scaled(high), strict=True):
            if np.isfinite(a) and np.isfinite(b):
                x += [a, b, None]
                y += [name, name, None]
        if x:
            figure.add_trace(go.Scatter(x=x, y=y, mode="lines", name=label, hoverinfo="skip",
                                        line={"color": colour, "width": width}))
    flagged = (table["verdict"] != "identified").to_numpy()
    estimate = scaled("estimate")
    hover = [f"{name}<br>estimate {_number(v)} in [{_number(a)}, {_number(b)}]"
             for name, v, a, b in zip(names, table["estimate"], lower, upper, strict=True)]
    for mask, label, colour in ((~flagged, "estimate (identified)", OBSERVED_COLOUR),
                                (flagged, "estimate (not identified)", FLAGGED_COLOUR)):
        if mask.any():
            figure.add_trace(go.Scatter(
                x=estimate[mask].tolist(), y=[n for n, m in zip(names, mask, strict=True) if m],
                mode="markers", name=label, marker={"color": colour, "size": 9},
                hovertext=[h for h, m in zip(hover, mask, strict=True) if m], hoverinfo="text"))
    prior = scaled("prior_mean")
    if np.isfinite(prior).any():
        keep = np.isfinite(prior)
        figure.add_trace(go.Scatter(
            x=prior[keep].tolist(), y=[n for n, k in zip(names, keep, strict=True) if k],
            mode="markers", name="prior mean", hoverinfo="skip",
            marker={"symbol": "x-thin", "size": 10, "color": "#2ca02c", "line": {"width": 2}}))
    for edge in (0, 1):
        figure.add_vline(x=edge, line={"color": "#999999", "width": 1})
    figure.update_xaxes(range=[-0.05, 1.05], title_text="position within bounds (0 = lower, "
                        "1 = upper)")
    figure.update_yaxes(type="category", autorange="reversed", categoryorder="array",
                        categoryarray=names)
    figure.update_layout(template="plotly_white", height=24 * len(names) + 170,
                         margin={"l": 20, "r": 20, "t": 20, "b": 40}, hovermode="closest",
                         legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"})
    return figure


# ----------------------------------------------------------------------------- correlation


def _correlation_section(calibration: Calibration) -> str:
    matrix = calibration.correlation
    labels = [_plotly_text(name) for name in matrix.columns]
    figure = go.Figure(go.Heatmap(
        z=matrix.to_numpy(float), x=labels, y=[_plotly_text(n) for n in matrix.index],
        zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
        texttemplate="%{z:.2f}" if len(labels) <= 30 else None, textfont={"size": 9},
        hovertemplate="%{y}<br>%{x}<br>correlation %{z:.3f}<extra></extra>",
    ))
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(tickangle=-45)
    figure.update_layout(template="plotly_white", height=26 * len(labels) + 260,
                         margin={"l": 20, "r": 20, "t": 20, "b": 20})
    plot = figure.to_html(full_html=False, include_plotlyjs=False, div_id="fig-correlation",
                          config=_PLOT_CONFIG)
    return "\n".join([
        '<section id="correlation">',
        "<h2>Correlations of the estimates</h2>",
        ("<p>Correlations of the estimates, linearised at the best fit. Values near +1 or −1 "
         "mean the data constrain only a combination of the two parameters.</p>"),
        plot,
        "</section>",
    ])


# -------------------------------------------------------------------------------- profiles


def _profiles_section(calibration: Calibration) -> str:
    head = ['<section id="profiles">', "<h2>Profile likelihood</h2>"]
    if calibration.intervals is None:
        return "\n".join([*head, "<p>Not computed: the calibration ran without uncertainty."
                          "</p>", "</section>"])
    threshold = float(stats.chi2.ppf(calibration.config.confidence, 1))
    names = calibration.names
    columns = min(4, len(names))
    rows = math.ceil(len(names) / columns)
    figure = make_subplots(rows=rows, cols=columns,
                           subplot_titles=[_plotly_text(name) for name in names],
                           horizontal_spacing=0.06,
                           vertical_spacing=min(0.12, 0.6 / rows) if rows > 1 else 0.1)
    for index, (name, interval) in enumerate(zip(names, calibration.intervals, strict=True)):
        points = sorted(interval.points)
        if not points:
            continue
        x, rise = [float(p[0]) for p in points], [float(p[1]) for p in points]
        where = {"row": index // columns + 1, "col": index % columns + 1}
        figure.add_trace(go.Scatter(
            x=x, y=rise, mode="lines+markers", name="rise", legendgroup="rise",
            showlegend=index == 0, line={"color": OBSERVED_COLOUR}, marker={"size": 5},
            hovertemplate=f"{_plotly_text(name)}<br>%{{x:.4g}}: rise %{{y:.2f}}<extra></extra>",
        ), **where)
        figure.add_trace(go.Scatter(
            x=[min(x), max(x)], y=[threshold, threshold], mode="lines", name="threshold",
            legendgroup="threshold", showlegend=index == 0, hoverinfo="skip",
            line={"color": FLAGGED_COLOUR, "dash": "dash", "width": 1},
        ), **where)
    figure.update_annotations(font_size=10)
    figure.update_yaxes(range=[-0.1 * threshold, 3 * threshold])
    figure.update_layout(template="plotly_white", height=200 * rows + 120,
                         margin={"l": 40, "r": 20, "t": 40, "b": 40},
                         legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})
    plot = figure.to_html(full_html=False, include_plotlyjs=False, div_id="fig-profiles",
                          config=_PLOT_CONFIG)
    return "\n".join([
        *head,
        (f"<p>Each panel fixes one parameter at a series of values, refits the others, and "
         "plots how far the best chi-square rises (divided by the interval scale). The "
         f"{_level(calibration)} % interval is where the curve stays below the dashed "
         f"threshold, χ²₁ = {threshold:.2f}; a curve that stays below it up to a bound leaves "
         "the parameter open on that side. The axes stop at three times the threshold.</p>"),
        plot,
        "</section>",
    ])


# ---------------------------------------------------------------------- skipped and mappings


def _not_compared_section(calibration: Calibration) -> str:
    skipped = "".join(
        f"<tr><td>{_text(item.observation.label())}</td>"
        f'<td class="num">{_text(item.observation.line)}</td><td>{_text(item.reason)}</td></tr>'
        for item in calibration.skipped
    )
    skipped_table = (
        "<table><thead><tr><th>Row</th><th>Line</th><th>Reason</th></tr></thead>\n"
        f"<tbody>{skipped}</tbody></table>" if skipped else "<p>Every row was compared.</p>"
    )
    mappings = "".join(_mapping_row(name, m) for name, m in calibration.config.series.items())
    return "\n".join([
        '<section id="not-compared">',
        "<h2>Rows not compared</h2>",
        skipped_table,
        "<h3>Series mappings</h3>",
        ("<p>How each observed series is compared with the model: its variable, whether rows "
         "are integrals (flows) or averages (ratios) over their period, the scale errors are "
         "measured on, and their error scale sigma.</p>"),
        "<table><thead><tr><th>Series</th><th>Role</th><th>Variable</th><th>Kind</th>"
        "<th>Unit</th><th>Scale</th><th>Sigma</th><th>Mapping</th></tr></thead>\n"
        f"<tbody>{mappings}</tbody></table>",
        "</section>",
    ])


def _mapping_row(name: str, mapping) -> str:
    target = mapping.role != "prior"  # a prior-only series has no variable, kind or sigma
    cells = [mapping.variable, mapping.kind, mapping.unit, mapping.scale] if target else []
    cells = "".join(f"<td>{_text(cell)}</td>" for cell in cells) or "<td>—</td>" * 4
    return (f"<tr><td>{_text(name)}</td><td>{_text(mapping.role)}</td>{cells}"
            f'<td class="num">{_number(mapping.sigma) if target else "—"}</td>'
            f'<td class="wide">{_text(mapping.mapping)}</td></tr>')


# ---------------------------------------------------------------------------------- rows


def _rows_section(rows: pd.DataFrame) -> str:
    body = "\n".join(
        f"<tr{_DERIVED if row['basis'] == 'derived' else ''}>"
        f"<td>{_text(row['series'])}</td><td>{_text(row['cluster'])}</td>"
        f'<td class="nowrap">{_text(row["period_start"])} – {_text(row["period_end"])}</td>'
        f"<td>{_text(row['basis'])}</td>"
        f'<td class="num">{_number(row["observed"], 5)}</td>'
        f'<td class="num">{_number(row["simulated"], 5)}</td>'
        f'<td class="num">{_signed(row["percent_error"])}</td>'
        f'<td class="num">{_signed(row["weighted_residual"], 2)}</td>'
        f'<td>{_text(row["unit"])}</td><td class="wide">{_text(row["source"])}</td>'
        f'<td class="num">{_text(row["line"])}</td></tr>'
        for row in rows.to_dict("records")
    )
    return "\n".join([
        '<section id="rows">',
        "<h2>Every compared row</h2>",
        ("<p>Observed and simulated values over each row's period, in the row's unit (flows as "
         "totals over the period); the weighted residual is the row's term of chi-square "
         "before squaring. Derived rows are in italics; line is the observation file's "
         "line.</p>"),
        '<div class="scroll"><table class="compact"><thead><tr><th>Series</th>'
        "<th>Cluster</th><th>Period</th><th>Basis</th>"
        "<th>Observed</th><th>Simulated</th><th>Error (%)</th><th>Weighted residual</th>"
        "<th>Unit</th><th>Source</th><th>Line</th></tr></thead>\n"
        f"<tbody>\n{body}\n</tbody></table></div>",
        "</section>",
    ])


# --------------------------------------------------------------------------------- helpers


def _level(calibration: Calibration) -> int:
    """The confidence level in percent, as the parameter table's column names carry it."""
    return int(round(calibration.config.confidence * 100))


def _finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _number(value: object, significant: int = 4) -> str:
    """``value`` to ``significant`` digits; a dash when missing, ∞ when infinite."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—" if value is None else _text(value)
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:,.{significant}g}"
    return "0" if text == "-0" else text


def _fixed(value: object, decimals: int) -> str:
    if not _finite(value):
        return "—"
    value = float(value)
    return f"{value if round(value, decimals) != 0 else 0.0:.{decimals}f}"


def _signed(value: object, decimals: int = 1) -> str:
    if not _finite(value):
        return "—"
    value = float(value)
    return f"{value if round(value, decimals) != 0 else 0.0:+.{decimals}f}"


def _range(low: object, high: object) -> str:
    if not (_finite(low) and _finite(high)):
        return "—"
    return f"{_number(low)} – {_number(high)}"
