"""The observation loader: the bundled file reads, malformed rows are rejected with the line."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import SHARED

from sd_runner import resources
from sd_runner.errors import InputError
from sd_runner.inputs.observations import decimal_year, load_observation_files, load_observations

HEADER = "series,cluster,period_start,period_end,value,unit,basis,source,evidence\n"
GOOD = "exports,textile,2003-01-01,2003-12-31,63.86,100 million USD,reported,paper,quote\n"


def test_bundled_file_reads_every_row_with_its_source():
    rows = load_observations(resources.observations_path())
    assert len(rows) == 41
    assert all(r.source for r in rows)
    derived = [r for r in rows if r.basis == "derived"]
    assert {r.start.year for r in derived} == {2007, 2009}
    priors = [r for r in rows if r.series == "rd_intensity_china"]
    assert all(r.basis == "reported" and "prior" in r.basis_note for r in priors)


@pytest.mark.skipif(not (SHARED / "data").is_dir(), reason="../shared is not beside the project")
def test_original_collection_reads_and_equals_the_bundled_copy():
    original = load_observations(SHARED / "data" / "zhejiang_observations.csv")
    bundled = load_observations(resources.observations_path())
    assert [(r.label(), r.value) for r in original] == [(r.label(), r.value) for r in bundled]


def test_periods_are_inclusive_and_in_decimal_years(write_file):
    path = write_file(HEADER + "exports,textile,2008-01-01,2008-06-30,100.3,100 million "
                      "USD,reported,customs,\n", "obs.csv")
    row = load_observations(path)[0]
    assert row.start_year == 2008.0
    assert row.end_year == pytest.approx(2008 + 182 / 366)  # 2008 is a leap year
    assert decimal_year(dt.date(2013, 1, 1)) == 2013.0


@pytest.mark.parametrize("text, expected", [
    (HEADER, "no data rows"),
    ("", "empty"),
    ("series,cluster\n" + GOOD, "missing column"),
    (HEADER.replace("evidence", "colour") + GOOD, "unknown column 'colour'"),
    (HEADER + GOOD.replace("2003-12-31", "2003/12/31"), ":2: field period_end"),
    (HEADER + GOOD.replace("2003-12-31", "2002-12-31"), ":2: period_end 2002-12-31 is before"),
    (HEADER + GOOD.replace("63.86", "lots"), ":2: field value 'lots' is not a number"),
    (HEADER + GOOD.replace("63.86", "nan"), ":2: field value is 'nan'"),
    (HEADER + GOOD.replace("63.86", "inf"), ":2: field value is 'inf'"),
    (HEADER + GOOD.replace("reported", "guessed"), ":2: field basis 'guessed'"),
    (HEADER + GOOD.replace(",paper,", ",,"), ":2: field source is empty"),
    (HEADER + GOOD + GOOD, ":3: duplicate of line 2"),
    (HEADER + GOOD.replace("quote\n", "quote,extra\n"), ":2: 10 fields for 9 columns"),
    (HEADER + GOOD + "\n" + GOOD.replace("textile", ""), ":4: field cluster is empty"),
])
def test_malformed_rows_are_rejected_with_file_and_line(write_file, text, expected):
    path = write_file(text, "obs.csv")
    with pytest.raises(InputError) as error:
        load_observations(path)
    message = str(error.value)
    assert str(path) in message and expected in message
    assert "\n" not in message


def test_binary_and_wrong_encoding_are_rejected(write_file):
    latin = write_file((HEADER + GOOD.replace("quote", "caf\u00e9")).encode("latin-1"),
                       "obs.csv")
    with pytest.raises(InputError, match=r":2: byte \d+ is not UTF-8"):
        load_observations(latin)
    junk = write_file(b"\x00\x01\x02binary", "junk.csv")
    with pytest.raises(InputError, match="not UTF-8|NUL"):
        load_observations(junk)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_observations(tmp_path / "nothing.csv")
    with pytest.raises(InputError, match="is not a file"):
        load_observations(tmp_path)


REGIONAL = "series,cluster,region,period_start,period_end,value,unit,basis,source\n"


def test_region_column_is_optional_and_zhejiang_by_default(write_file):
    plain = load_observations(write_file(HEADER + GOOD, "plain.csv"))[0]
    assert plain.region == "Zhejiang" and "@" not in plain.label()
    path = write_file(REGIONAL + "exports,footwear,Wenzhou city,2011-01-01,2011-12-31,47.24,"
                      "100 million USD,reported,s\n", "regional.csv")
    row = load_observations(path)[0]
    assert row.region == "Wenzhou city" and row.place == "regional.csv:2"
    assert row.label() == "exports/footwear@Wenzhou city/2011-01-01..2011-12-31"


def test_one_statistic_per_region_may_repeat_across_regions(write_file):
    rows = "exports,textile,{},2010-01-01,2010-12-31,5,u,reported,s\n"
    path = write_file(REGIONAL + rows.format("China") + rows.format("Zhejiang"), "two.csv")
    assert [r.region for r in load_observations(path)] == ["China", "Zhejiang"]


@pytest.mark.parametrize("row, expected", [
    ("exports,textile,,2010-01-01,2010-12-31,5,u,reported,s\n", ":2: field region is empty"),
    ("exports,textile, China,2010-01-01,2010-12-31,5,u,reported,s\n",
     ":2: field region ' China' has spaces around it"),
])
def test_bad_regions_are_rejected_with_file_line_and_fix(write_file, row, expected):
    path = write_file(REGIONAL + row, "obs.csv")
    with pytest.raises(InputError) as error:
        load_observations(path)
    assert f"{path}{expected}" in str(error.value) and "\n" not in str(error.value)


def test_several_files_are_read_in_order_and_repeats_refused(write_file):
    first = write_file(HEADER + GOOD, "first.csv")
    second = write_file(REGIONAL + "exports,textile,China,2003-01-01,2003-12-31,5,u,"
                        "reported,s\n", "second.csv")
    rows = load_observation_files([first, second])
    assert [r.place for r in rows] == ["first.csv:2", "second.csv:2"]
    with pytest.raises(InputError, match="given twice"):
        load_observation_files([first, first])
    again = write_file(REGIONAL + "exports,textile,Zhejiang,2003-01-01,2003-12-31,1,100 "
                       "million USD,reported,s\n", "again.csv")
    with pytest.raises(InputError, match=rf"again.csv:2: the same series, cluster, region "
                                         rf"and period as {first}:2"):
        load_observation_files([first, again])


def test_bundled_second_file_is_the_shared_one_with_regions():
    rows = load_observations(resources.more_observations_path())
    assert {r.region for r in rows} == {"Zhejiang", "Wenzhou city", "China"}
    assert all(r.source for r in rows)
    if (SHARED / "data").is_dir():
        assert resources.more_observations_path().read_bytes() == (
            SHARED / "data" / "more_observations.csv").read_bytes()
