"""Values an observation file may hold, by class: strict numbers and dates, periods within the
model's time, and values within the range of the model variable they are compared with. Each
rejection is one line naming the file, the line, the field and the fix."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from sd_runner.cli import cli
from sd_runner.errors import InputError
from sd_runner.inputs.observations import MAGNITUDE, load_observations

HEADER = "series,cluster,period_start,period_end,value,unit,basis,source\n"
EXPORTS = "exports,textile,2003-01-01,2003-12-31,{value},100 million USD,reported,customs\n"
SHARE = ("export_delivery_share,textile,2013-01-01,2013-12-31,{value},percent of industrial "
         "sales,reported,yearbook\n")


def _file(tmp_path, *rows: str):
    path = tmp_path / "obs.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


# ---------------------------------------------------------------- numbers
# Every class of text Python's float() reads (or nearly reads) that a table does not mean.
REFUSED_NUMBERS = [
    ("spaces around", " 5 ", "remove the spaces around it"),
    ("digit separators", "1_000", "without '_' between digits"),
    ("decimal comma", '"63,86"', "use a point for decimals"),
    ("thousands comma", '"1,000.5"', "use a point for decimals"),
    ("hexadecimal", "0x10", "write it in decimal"),
    ("full-width digits", "\uff16\uff13", "write it with digits 0-9"),
    ("Arabic-Indic digits", "\u0666\u0663", "write it with digits 0-9"),
    ("incomplete exponent", "1e", "digits with a decimal point"),
    ("two signs", "+-1", "digits with a decimal point"),
    ("two points", "1.2.3", "digits with a decimal point"),
    ("empty", "", "digits with a decimal point"),
    ("not a number", "nan", "give a finite number"),
    ("infinity", "inf", "give a finite number"),
    ("signed infinity word", "-Infinity", "give a finite number"),
    ("beyond the largest float", "1e999", "give a finite number"),
]


@pytest.mark.parametrize(("text", "fix"), [(t, f) for _, t, f in REFUSED_NUMBERS],
                         ids=[name for name, _, _ in REFUSED_NUMBERS])
def test_a_value_that_is_not_a_plain_number_is_refused(tmp_path, text, fix):
    path = _file(tmp_path, EXPORTS.format(value=text))
    with pytest.raises(InputError) as caught:
        load_observations(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: field value") and fix in message
    assert "\n" not in message


@pytest.mark.parametrize("text", ["91.40", "-0.5", ".5", "5.", "+2", "1.5e3", "2E-2", "0"])
def test_plain_numbers_read_as_python_reads_them(tmp_path, text):
    assert load_observations(_file(tmp_path, EXPORTS.format(value=text)))[0].value == float(text)


# Numbers beyond what any statistic measures, whose fit statistics would overflow.
OUT_OF_MAGNITUDE = [
    ("near the largest float", "1e308"),
    ("negative and huge", "-1e13"),
    ("subnormal", "5e-324"),
    ("tiny", "1e-13"),
]


@pytest.mark.parametrize("text", [t for _, t in OUT_OF_MAGNITUDE],
                         ids=[name for name, _ in OUT_OF_MAGNITUDE])
def test_a_value_of_absurd_magnitude_is_refused(tmp_path, text):
    path = _file(tmp_path, EXPORTS.format(value=text))
    result = CliRunner().invoke(cli, ["validate", "--data", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"Error: {path}:2: field value {text} is beyond what any statistic measures (a "
        f"magnitude from {MAGNITUDE[0]:g} to {MAGNITUDE[1]:g} in its unit, or 0); check the "
        "value and its unit")


@pytest.mark.parametrize("text", [f"{MAGNITUDE[0]:g}", f"{MAGNITUDE[1]:g}"])
def test_values_at_the_magnitude_bounds_are_compared_without_warnings(tmp_path, text):
    # Warnings are errors in the tests: an overflow in the statistics would fail this.
    path = _file(tmp_path, EXPORTS.format(value=text),
                 EXPORTS.format(value="50").replace("textile", "apparel"))
    result = CliRunner().invoke(cli, ["validate", "--data", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


# ---------------------------------------------------------------- names
# Series and cluster are matched against the settings: spaces around them are refused, as
# spaces around a number are.
SPACED_NAMES = [
    ("cluster, trailing space", "cluster", "exports,textile ,"),
    ("cluster, leading space", "cluster", "exports, textile,"),
    ("series, leading space", "series", " exports,textile,"),
    ("series, trailing tab", "series", "exports\t,textile,"),
]


@pytest.mark.parametrize(("field", "start"), [(f, s) for _, f, s in SPACED_NAMES],
                         ids=[name for name, _, _ in SPACED_NAMES])
def test_a_name_with_spaces_around_it_is_refused(tmp_path, field, start):
    row = EXPORTS.format(value="50").replace("exports,textile,", start)
    path = _file(tmp_path, row)
    with pytest.raises(InputError) as caught:
        load_observations(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: field {field} ")
    assert message.endswith("has spaces around it; remove the spaces")


# ---------------------------------------------------------------- dates
@pytest.mark.parametrize("text", ["20030101", "2003-W01-3", "2003-1-1", "\uff12003-01-01",
                                  " 2003-01-01x", "2003-02-30"],
                         ids=["basic format", "week date", "no zero padding", "full-width",
                              "trailing text", "no such day"])
def test_a_date_that_is_not_yyyy_mm_dd_is_refused(tmp_path, text):
    row = EXPORTS.format(value="63.86").replace("2003-01-01", text)
    path = _file(tmp_path, row)
    with pytest.raises(InputError, match=r":2: field period_start .* is not a date; write it "
                                         r"as YYYY-MM-DD$"):
        load_observations(path)


# ---------------------------------------------------------------- against the model
# (row, what the one-line error says). The bundled model runs from 2003 to 2035.
REFUSED_ROWS = [
    ("share above 1", SHARE.format(value="120"),
     "value 120 of export_delivery_share is 1.2 in the model's terms (value / 100), outside "
     "a share's range [0, 1]"),
    ("share below 0", SHARE.format(value="-3"), "outside a share's range [0, 1]"),
    ("flow below its stock's minimum", EXPORTS.format(value="-4"),
     "exports value -4 must be positive, since it is compared on a log scale"),
]


@pytest.mark.parametrize(("row", "expected"), [(r, e) for _, r, e in REFUSED_ROWS],
                         ids=[name for name, _, _ in REFUSED_ROWS])
def test_validate_refuses_a_row_the_model_cannot_take(tmp_path, row, expected):
    path = _file(tmp_path, EXPORTS.format(value="63.86").replace("2003", "2004"), row)
    result = CliRunner().invoke(cli, ["validate", "--data", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{path}:3:" in lines[0] and expected in lines[0], lines
    assert lines[0].rstrip().endswith(("covers it", "and its unit", "on a log scale"))


OUTSIDE_TIME = [
    ("period before INITIAL TIME", EXPORTS.format(value="50").replace("2003-", "2002-"),
     "the period starts before the model's INITIAL TIME 2003"),
    ("period after FINAL TIME", EXPORTS.format(value="50").replace("2003-", "2035-"),
     "ends after final_time 2035"),
    ("period across FINAL TIME", EXPORTS.format(value="50").replace("2003-01-01", "2034-07-01")
     .replace("2003-12-31", "2035-06-30"), "ends after final_time 2035"),
]


@pytest.mark.parametrize(("row", "expected"), [(r, e) for _, r, e in OUTSIDE_TIME],
                         ids=[name for name, _, _ in OUTSIDE_TIME])
def test_validate_lists_a_row_outside_the_models_time_with_the_reason(tmp_path, row, expected):
    path = _file(tmp_path, EXPORTS.format(value="63.86").replace("2003", "2004"), row)
    result = CliRunner().invoke(cli, ["validate", "--data", str(path), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)["accounting"]
    assert [r["status"] for r in listed] == ["fitted", "not compared"], listed
    assert expected in listed[1]["reason"], listed[1]


def test_an_aggregate_row_is_checked_too(tmp_path):
    # Rows for all of the province are not compared, but a share above 1 is still a mistake.
    path = _file(tmp_path, EXPORTS.format(value="63.86"),
                 SHARE.format(value="150").replace("textile", "all"))
    result = CliRunner().invoke(cli, ["validate", "--data", str(path)])
    assert result.exit_code == 2 and f"{path}:3:" in result.stderr


def test_a_row_outside_the_models_time_is_listed_as_not_compared_with_the_reason(tmp_path):
    # Every row is accounted for: one the model cannot simulate is named, not dropped.
    path = _file(tmp_path, EXPORTS.format(value="63.86"),
                 EXPORTS.format(value="50").replace("2003-", "2040-"))
    result = CliRunner().invoke(cli, ["validate", "--data", str(path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["accounting"]
    late = [r for r in rows if str(r["period_start"]).startswith("2040")]
    assert len(late) == 1 and late[0]["status"] == "not compared", late
    assert "ends after final_time 2035" in late[0]["reason"], late


def test_rows_within_the_ranges_and_the_models_time_are_compared(tmp_path):
    path = _file(tmp_path, EXPORTS.format(value="63.86"), SHARE.format(value="20.92"),
                 SHARE.format(value="43.44").replace("textile", "apparel"),
                 EXPORTS.format(value="300").replace("2003-", "2034-"))
    result = CliRunner().invoke(cli, ["validate", "--data", str(path), "--json"])
    assert result.exit_code == 0, result.output


def test_a_row_observed_as_zero_is_compared_and_left_out_of_mape(tmp_path):
    # A share of 0 is a value the model can take; its percent error is undefined, not a crash.
    path = _file(tmp_path, EXPORTS.format(value="63.86"), SHARE.format(value="0"),
                 SHARE.format(value="43.44").replace("textile", "apparel"))
    result = CliRunner().invoke(cli, ["validate", "--data", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    zero = [row for row in report["rows"] if row["observed"] == 0]
    assert len(zero) == 1 and zero[0]["percent_error"] is None
    apparel = [row for row in report["rows"] if row["cluster"] == "apparel"][0]
    shares = report["stats"]["export_delivery_share"]
    assert shares["n"] == 2
    assert shares["mape_percent"] == pytest.approx(abs(apparel["percent_error"]))
