"""The feedback-loop section of the comparison report, on a small synthetic loop comparison
(no model run): loop names in sight and identifiers only as tooltips, a dominance timeline
that outlines where a scenario departs from the reference, the full lists behind closed
<details>, and loop colours apart from scenario colours."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from sd_runner.inputs.scenarios import Scenario
from sd_runner.reports import loops as section
from sd_runner.reports.html_parts import REFERENCE_COLOUR, SCENARIO_COLOURS
from sd_runner.results.loop_scores import (
    DominantPeriod,
    LoopComparison,
    LoopInstance,
    LoopScores,
    ScenarioLoops,
)
from sd_runner.results.loops import Link, Loop, loop_id

LOOP_ID = re.compile(r"\bL[0-9a-f]{8}\b")
TIMES = np.arange(2000.0, 2010.0 + 0.25, 0.5)
LEVER_YEAR = 2006.0  # where the scenario "lever" departs from the baseline


def _loop(variables: tuple[str, ...], stocks: set[str], polarity: str, name: str = "") -> Loop:
    """A loop through ``variables`` in order; links into ``stocks`` are flows (so its stocks,
    in the order its links reach them, start with the second variable's)."""
    links = tuple(Link(source, target, "flow" if target in stocks else "aux", 1)
                  for source, target in zip(variables, variables[1:] + variables[:1],
                                            strict=True))
    return Loop(loop_id(variables), variables, polarity, links, name)


CAPTURE = _loop(("Brand Equity", "Brand Investment"), {"Brand Equity"}, "R", "R1 capture")
DECAY = _loop(("Brand Equity", "Brand Decay", "R and D Capital", "R and D Spending"),
              {"Brand Equity", "R and D Capital"}, "B")
PLATFORM = _loop(("Platform", "Platform Build"), {"Platform"}, "B", "B11 platform build-out")
LOOPS = (CAPTURE, DECAY, PLATFORM)


def _scenario_loops(name: str, departs: bool) -> ScenarioLoops:
    """Textile: the balancing loop dominates throughout, unless ``departs``: then capture
    from LEVER_YEAR. Province-wide (no subscript): one balancing loop, always."""
    instances = [LoopInstance(CAPTURE, "Textile", 0, (0,)), LoopInstance(DECAY, "Textile", 0, (1,)),
                 LoopInstance(PLATFORM, "", 1, (2,))]
    later = departs & (TIMES > LEVER_YEAR)
    relative = np.column_stack([np.where(later, 0.8, 0.3), np.where(later, -0.2, -0.7),
                                np.full(len(TIMES), -1.0)])
    relative[0] = 0.0  # the initial time has no scores
    scores = LoopScores(TIMES, instances, relative.copy(), relative)
    textile = ([DominantPeriod("Textile", 2000.0, LEVER_YEAR, "B", (DECAY.id,), 0.7),
                DominantPeriod("Textile", LEVER_YEAR, 2010.0, "R", (CAPTURE.id,), 0.8)]
               if departs else [DominantPeriod("Textile", 2000.0, 2010.0, "B", (DECAY.id,), 0.7)])
    province = [DominantPeriod("", 2000.0, 2010.0, "B", (PLATFORM.id,), 1.0)]
    return ScenarioLoops(Scenario(name, name, "", "bundled"), scores, (*textile, *province))


@pytest.fixture(scope="module")
def comparison() -> LoopComparison:
    return LoopComparison(LOOPS, "exhaustive", 2.0, 0.5,
                          (_scenario_loops("baseline", False), _scenario_loops("lever", True)))


@pytest.fixture(scope="module")
def html(comparison) -> str:
    return section.loop_section(comparison)


class _Page(HTMLParser):
    """The text a reader sees (no script, no attribute), and each element with whether a
    closed <details> hides it."""

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []
        self.elements: list[tuple[str, dict, bool]] = []
        self._details: list[bool] = []  # open or not, innermost last
        self._script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.elements.append((tag, attributes, not all(self._details)))
        if tag == "details":
            self._details.append("open" in attributes)
        self._script = self._script or tag == "script"

    def handle_endtag(self, tag):
        if tag == "details":
            self._details.pop()
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        if not self._script:
            self.seen.append(data)


@pytest.fixture(scope="module")
def page(html) -> _Page:
    parsed = _Page()
    parsed.feed(html)
    return parsed


def test_loops_are_seen_by_name_and_identified_only_in_tooltips(page, html):
    seen = " ".join(page.seen)
    assert "R1 capture" in seen
    assert "B loop through R and D Capital, Brand Equity" in seen
    assert not LOOP_ID.search(seen), LOOP_ID.findall(seen)
    spans = [attributes["title"] for tag, attributes, _ in page.elements
             if tag == "span" and LOOP_ID.fullmatch(attributes.get("title", ""))]
    assert DECAY.id in spans and CAPTURE.id in spans


def test_charts_label_loops_by_name_with_identifiers_last_in_the_hover_text(comparison):
    table, scores = comparison.dominance(), comparison.relative_scores()
    labels = section.loop_labels(LOOPS)
    figure = section.timeline_figure(comparison, table, labels,
                                     section.loop_styles(table, scores))
    names = {trace.name for trace in figure.data}
    assert {"R1 capture", "B loop through R and D Capital, Brand Equity"} <= names
    assert not any(LOOP_ID.search(name) for name in names)
    hovers = [text for trace in figure.data for text in (trace.hovertext or ())]
    assert hovers and all(LOOP_ID.findall(text.split("ids:")[0]) == [] for text in hovers)
    assert any(DECAY.id in text.split("ids:")[1] for text in hovers)


def test_the_timeline_is_in_sight_and_outlines_where_a_scenario_departs(comparison, page):
    timeline = [hidden for tag, attributes, hidden in page.elements
                if attributes.get("id") == "fig-loop-dominance"]
    assert timeline == [False]
    table, scores = comparison.dominance(), comparison.relative_scores()
    figure = section.timeline_figure(comparison, table, section.loop_labels(LOOPS),
                                     section.loop_styles(table, scores))
    (outline,) = [trace for trace in figure.data if trace.name == "differs from baseline"]
    # One span: the lever scenario's Textile row from the lever on; the province's loops are
    # the same in both scenarios, so they are not outlined.
    assert list(outline.y) == ["lever"]
    assert list(outline.base) == [LEVER_YEAR] and list(outline.x) == [2010.0 - LEVER_YEAR]
    assert outline.marker.line.width >= 2
    # Every scenario is a row, the reference at the top.
    assert list(figure.layout.yaxis.categoryarray) == ["baseline", "lever"]
    assert figure.layout.yaxis.autorange == "reversed"


def test_spans_where_the_dominant_loops_differ_merge_and_ignore_their_order():
    def bar(start, end, *loops, polarity="B"):
        return section._Bar("s", start, end, polarity, 0.5, loops)

    reference = [bar(0, 2, "a"), bar(2, 4, "a", "b"), bar(4, 8, "c")]
    ours = [bar(0, 2, "a"), bar(2, 6, "b", "a"), bar(6, 8, "d")]
    assert section.differing_spans(ours, reference) == [(4, 8)]
    assert section.differing_spans(ours[:1], reference) == [(2, 8)]  # none of its own there


def test_the_full_lists_and_charts_are_behind_closed_details(page, html):
    assert "<details open" not in html
    hidden = {tag: [] for tag in ("table", "ul", "h4")}
    for tag, _, is_hidden in page.elements:
        if tag in hidden:
            hidden[tag].append(is_hidden)
    assert hidden["table"] and hidden["ul"] and hidden["h4"]
    assert all(all(flags) for flags in hidden.values())
    summaries = [data for data in page.seen if "Dominant loops period by period" in data
                 or "How each scenario shifts the loops" in data]
    assert len(summaries) == 2
    charts = [(attributes["id"], is_hidden) for tag, attributes, is_hidden in page.elements
              if tag == "div" and attributes.get("id", "").startswith("fig-loops-")]
    assert charts == [("fig-loops-textile", True)]


def test_a_flat_partition_is_skipped_in_one_line(page):
    seen = "".join(page.seen)
    assert "Province-wide: only balancing loops act" in seen


def test_periods_as_the_reference_are_not_repeated(page):
    items = [data for data in page.seen if data.startswith("as baseline")]
    assert items == [f"as baseline until {LEVER_YEAR:g}", "as baseline throughout"]


def test_no_space_before_a_possessive(page, html):
    seen = "".join(page.seen)
    assert not re.search(r"\s's\b", seen)
    assert "</strong>'s" not in html


def test_loop_colours_are_not_scenario_colours(comparison):
    scenario = {colour.lower() for colour in (*SCENARIO_COLOURS, REFERENCE_COLOUR)}
    loop = {colour.lower() for colour in section.LOOP_COLOURS}
    other = {colour.lower() for _, colour in section.OTHER_COLOURS.values()}
    assert len(loop) == len(section.LOOP_COLOURS)
    assert not (loop | other) & scenario
    table, scores = comparison.dominance(), comparison.relative_scores()
    figure = section.timeline_figure(comparison, table, section.loop_labels(LOOPS),
                                     section.loop_styles(table, scores))
    fills = {trace.marker.color.lower() for trace in figure.data
             if trace.name != "differs from baseline"}
    assert fills and fills <= loop


def test_unnamed_loops_through_the_same_stocks_are_told_apart():
    one = _loop(("Brand Equity", "Brand Decay", "R and D Capital", "Spending A"),
                {"Brand Equity", "R and D Capital"}, "B")
    two = _loop(("Brand Equity", "Brand Decay", "R and D Capital", "Spending B"),
                {"Brand Equity", "R and D Capital"}, "B")
    many = _loop(tuple(f"Stock {k}" for k in range(6)), {f"Stock {k}" for k in range(6)}, "R")
    labels = section.loop_labels([one, two, many, CAPTURE])
    assert labels[one.id] == "B loop through R and D Capital, Brand Equity via Spending A"
    assert labels[two.id] == "B loop through R and D Capital, Brand Equity via Spending B"
    assert labels[many.id] == "R loop through Stock 1, Stock 2 + 4 more"
    assert labels[CAPTURE.id] == "R1 capture"
