"""The fit report's sections on the estimated parameters: their table and positions within
their bounds, the correlations of the estimates and the profile likelihoods."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import stats

from sd_runner.calibration.report_format import FLAGGED_COLOUR, OBSERVED_COLOUR
from sd_runner.calibration.report_format import PLOT_CONFIG as _PLOT_CONFIG
from sd_runner.calibration.report_format import finite as _finite
from sd_runner.calibration.report_format import level as _level
from sd_runner.calibration.report_format import number as _number
from sd_runner.calibration.report_format import signed as _signed
from sd_runner.calibration.report_format import span as _range
from sd_runner.reports.html_page import plotly_text as _plotly_text
from sd_runner.reports.html_page import text as _text

if TYPE_CHECKING:
    from sd_runner.calibration.calibrate import Calibration

_FLAGGED = ' class="flagged"'


def parameters_section(calibration: Calibration) -> str:
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


def correlation_section(calibration: Calibration) -> str:
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


def profiles_section(calibration: Calibration) -> str:
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
