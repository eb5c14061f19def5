"""The fit report's first section: the observations against the fitted model, one figure per
series with a panel per cluster, every segment one row of the calibration's rows."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sd_runner.calibration.report_format import OBSERVED_COLOUR, SIMULATED_COLOUR, TRAJECTORY_COLOUR
from sd_runner.calibration.report_format import PLOT_CONFIG as _PLOT_CONFIG
from sd_runner.calibration.report_format import number as _number
from sd_runner.calibration.report_format import signed as _signed
from sd_runner.inputs.observations import decimal_year
from sd_runner.reports.html_page import plotly_text as _plotly_text
from sd_runner.reports.html_page import text as _text

if TYPE_CHECKING:
    from sd_runner.calibration.calibrate import Calibration


def fit_section(calibration: Calibration, rows: pd.DataFrame, series: list[str],
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
