"""sd-runner diff: the lever matrix run on two versions of the model, and what moved."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sd_runner import resources
from sd_runner.cli import cli
from sd_runner.validation import diff as model_diff

MDL = resources.model_path()
FIT = resources.fit_dir()

#: One copy of the bundled model serves every test (each new .mdl costs a translation). None
#: of the edits changes the kernel's source: constants are read from a vector and ranges are
#: checked outside it, so the cached kernel runs the copy.
EDITS = (
    # Not fitted: the runs see it, and own brands build up more slowly.
    ("Own Brand Adjustment Time=\n\t3\n", "Own Brand Adjustment Time=\n\t6\n"),
    # Fitted: the committed fit sets it in both versions, so no run sees the change.
    ("Buyer Squeeze Strength=\n\t0.6\n", "Buyer Squeeze Strength=\n\t0.7\n"),
    # The market-chain lever's full programme (0.2) leaves the narrowed range.
    ("Market Chain Reach[Cluster]=\n\t0\n\t~\tDmnl [0,0.5]",
     "Market Chain Reach[Cluster]=\n\t0\n\t~\tDmnl [0,0.1]"),
)


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def variant(tmp_path_factory):
    text = MDL.read_text(encoding="utf-8")
    for old, new in EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("variant") / "changed.mdl"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def variant_diff(variant, tmp_path_factory):
    """``diff`` of the bundled model against the copy, as JSON and an HTML page."""
    page = tmp_path_factory.mktemp("page") / "diff.html"
    result = invoke("diff", MDL, variant, "--json", "--html", page)
    return result, json.loads(result.stdout), page


def _one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")


def test_the_bundled_model_against_itself_moves_nothing():
    result = invoke("diff", MDL)
    assert result.exit_code == 0, result.output
    assert "No key outcome moves by more than 1 %" in result.stdout
    assert "Model changes: none found." in result.stdout
    assert "24 members compared" in result.stdout


def test_a_changed_constant_moves_the_outcomes_it_drives(variant_diff):
    result, record, _ = variant_diff
    assert result.exit_code == 1, result.output
    assert record["differs"] is True
    assert record["constants_changed"] == [
        {"name": "Own Brand Adjustment Time", "old": 3.0, "new": 6.0}]
    moves = record["moves"]
    sizes = [m["size"] for m in moves]
    assert sizes == sorted(sizes, reverse=True) and min(sizes) > 0.01
    assert moves[0]["outcome"] == "Own Brand Share"
    moved = {(m["member"], m["outcome"], m["cluster"]) for m in moves}
    for cluster in ("Textile", "Apparel", "Footwear", "Furniture"):
        assert ("own-brand@1", "Own Brand Share", cluster) in moved
        # Zero in both versions: rounding does not count as a move.
        assert ("baseline", "Lever Cost", cluster) not in moved
    for move in moves:
        scale = move["scale"]
        assert move["difference"] == pytest.approx(move["new"] - move["old"])
        assert abs(move["difference"]) / scale == pytest.approx(move["size"])


def test_a_fitted_constant_changed_in_the_mdl_is_reported_as_unseen(variant_diff):
    _, record, _ = variant_diff
    assert record["constants_masked_by_fit"] == [
        {"name": "Buyer Squeeze Strength", "old": 0.6, "new": 0.7}]


def test_a_lever_the_new_version_cannot_pull_is_reported_not_compared(variant_diff):
    _, record, _ = variant_diff
    skipped = {n["member"]: n for n in record["not_compared"]}
    assert set(skipped) == {"market-chain@1", "all@1"}
    for item in skipped.values():
        assert item["old"] is None and "Market Chain Reach = 0.2" in item["new"]
    assert "market-chain@0.5" in record["members"] and "all@1" not in record["members"]
    assert {"name": "Market Chain Reach[Cluster]", "aspects": ["range"]} in \
        record["definitions_changed"]


def test_the_json_shape(variant_diff):
    _, record, _ = variant_diff
    assert set(record) == {
        "old", "new", "threshold", "floor", "differs", "members", "series_compared", "moves",
        "not_compared", "outcome_columns_only", "variables_added", "variables_removed",
        "definitions_changed", "constants_changed", "constants_masked_by_fit",
        "controls_changed"}
    assert record["threshold"] == 0.01 and record["floor"] == model_diff.DEFAULT_FLOOR
    assert record["old"]["model_file"] == MDL.name and record["new"]["model_file"] == "changed.mdl"
    assert record["old"]["model_sha256"] != record["new"]["model_sha256"]
    assert record["old"]["fit"] == record["new"]["fit"] == "calibrated"
    assert set(record["moves"][0]) == {"member", "outcome", "cluster", "time", "old", "new",
                                       "difference", "size", "scale"}
    assert record["series_compared"] == len(record["members"]) * 14 * 4
    assert record["variables_added"] == record["variables_removed"] == []
    assert record["outcome_columns_only"] == {"old": [], "new": []}


def test_the_html_page_holds_the_table_and_charts_offline(variant_diff):
    _, record, page = variant_diff
    html = page.read_text(encoding="utf-8")
    table = html[html.index('id="moves-table"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == len(record["moves"]) + 1  # the heading's row
    assert "Own Brand Adjustment Time" in html
    assert html.count("Plotly.newPlot") == model_diff.CHARTED
    assert "<script src=" not in html


def test_text_lists_the_changes_and_a_fit_parameter_the_model_lacks(variant, tmp_path):
    fit = tmp_path / "parameters.toml"
    fit.write_text((FIT / "parameters.toml").read_text(encoding="utf-8")
                   + '"No Such Constant" = 1.0\n', encoding="utf-8")
    result = invoke("diff", MDL, variant, "--new-fit", fit)
    assert result.exit_code == 1, result.output
    text = result.stdout
    assert "Own Brand Adjustment Time: 3 -> 6" in text
    assert "not applied) (1): No Such Constant" in text
    assert "market-chain@1: NEW: lever market-chain at 1:" in text
    lines = text.splitlines()
    heading = next(n for n, line in enumerate(lines) if "the largest first" in line)
    assert "Own Brand Share[" in lines[heading + 2]  # below the columns' names


def test_two_fits_of_the_bundled_model(tmp_path):
    text = (FIT / "parameters.toml").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith('"Buyer Squeeze Strength"'))
    (tmp_path / "parameters.toml").write_text(
        text.replace(line, '"Buyer Squeeze Strength" = 0.6'), encoding="utf-8")
    result = invoke("diff", FIT, tmp_path, "--json")
    assert result.exit_code == 1, result.output
    record = json.loads(result.stdout)
    assert record["old"]["fit"] == "calibrated" and record["new"]["fit"] == "fit"
    (change,) = record["constants_changed"]
    assert change["name"] == "Buyer Squeeze Strength" and change["new"] == 0.6
    assert {"Margin", "Total Profit"} <= {m["outcome"] for m in record["moves"]}
    assert not record["definitions_changed"] and not record["not_compared"]


@pytest.mark.parametrize("args, expected", [
    (["missing.mdl"], "OLD missing.mdl: not found"),
    (["{notes}"], "neither a .mdl file nor a fit"),
    (["{mdl}", "missing-fit"], "NEW missing-fit: not found"),
    (["{fit}", "--old-fit", "uncalibrated"], "is a fit already"),
    (["{mdl}", "--new-fit", "nowhere"], "--new-fit nowhere: no fitted parameters there"),
    (["{mdl}", "--threshold", "-1"], "--threshold -1.0: give a percentage"),
    (["{mdl}", "--floor", "0"], "--floor 0.0: give a positive number"),
])
def test_bad_input_is_one_line_with_exit_code_2(tmp_path, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("not a model\n", encoding="utf-8")
    names = {"notes": tmp_path / "notes.txt", "mdl": MDL, "fit": FIT}
    result = invoke("diff", *[a.format(**names) for a in args])
    _one_line_error(result)
    assert expected in result.output


def test_a_move_is_measured_against_the_series_own_scale():
    times = pd.Index([2003.0, 2004.0, 2005.0], name="time")
    old = pd.DataFrame({"A[X]": [0.0, 1.0, 2.0], "B[X]": [0.0, 0.0, 0.0],
                        "C[X]": [0.0, 0.0, 0.0], "D[X]": [100.0, 100.0, 100.0]}, index=times)
    new = old.copy()
    new["A[X]"] = [0.01, 1.0, 2.0]  # 0.5 % of its largest magnitude, though 0 became 0.01
    new["B[X]"] = [0.0, 1e-12, 0.0]  # rounding of a series that is zero: below the floor
    new["C[X]"] = [0.0, 0.5, 0.0]  # from nothing: a move of 100 %
    new["D[X]"] = [100.0, 102.0, 100.0]
    moves, series = model_diff._member_moves("m", old, new, threshold=0.01, floor=1e-6)
    found = {m.outcome: m for m in moves}
    assert set(found) == {"C", "D"}
    assert found["C"].size == pytest.approx(1.0) and found["C"].time == 2004.0
    assert found["D"].size == pytest.approx(2 / 102) and found["D"].old == 100.0
    assert np.allclose(series[("m", "D", "X")].new, [100.0, 102.0, 100.0])


def test_a_lever_setting_the_model_lacks_is_named(model, levers):
    lever = levers["own-brand"]
    broken = dataclasses.replace(lever, settings=(dataclasses.replace(
        lever.settings[0], variable="No Such Constant"),))
    problem = model_diff._lever_problem(model, broken, 0.5)
    assert problem == "lever own-brand: 'No Such Constant' is not a constant of this model"
    assert model_diff._lever_problem(model, lever, 1.0) is None
