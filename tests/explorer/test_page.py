"""The lever explorer's page as a file: one offline HTML document of bounded size, written by
`sd-runner explore` (and `compare --explorer`) atomically, the same bytes for the same command,
bad input refused in one line. The browser tests are in test_browser_explorer.py."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from sd_runner.cli import cli

#: Largest page the README promises (plotly.js is most of it).
MAX_BYTES = 6_000_000


class _Links(HTMLParser):
    """Every src and href attribute, and the tags of the document."""

    def __init__(self):
        super().__init__()
        self.links, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [value or "" for name, value in attrs if name in ("src", "href")]


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("explorer")
    result = _invoke("explore", "--out", folder / "explorer.html")
    assert result.exit_code == 0, result.output
    return folder, result.output


def test_explore_writes_one_offline_page_of_bounded_size(written):
    folder, output = written
    assert [p.name for p in folder.iterdir()] == ["explorer.html"]  # nothing staged is left
    page = folder / "explorer.html"
    size = page.stat().st_size
    assert 0 < size <= MAX_BYTES
    assert output.strip().splitlines() == [
        f"wrote {page} ({size / 1e6:.1f} MB): open it in a web browser; it runs offline"]
    links = _Links()
    links.feed(page.read_text(encoding="utf-8"))
    assert not [link for link in links.links if "//" in link]
    assert "link" not in links.tags and links.tags.count("script") == 4  # config, plotly, 2
    text = page.read_text(encoding="utf-8")
    assert "global.sdModel = createModel(" in text and "window.sdExplorer" in text
    assert '"members":[[' in text  # the posterior sets of the bands


def test_the_same_command_twice_writes_the_same_bytes(written, tmp_path):
    folder, _output = written
    again = tmp_path / "explorer.html"
    assert _invoke("explore", "--out", again).exit_code == 0
    assert again.read_bytes() == (folder / "explorer.html").read_bytes()


def test_a_page_without_members_carries_no_sample(tmp_path):
    page = tmp_path / "plain.html"
    result = _invoke("explore", "--out", page, "--members", "0")
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    assert '"sample":' not in text and '"members":[[' not in text


@pytest.mark.parametrize("args, says", [
    (["--out", "{tmp}"], "--out {tmp}: is a folder"),
    (["--out", "{tmp}/missing/explorer.html"], "--out {tmp}/missing/explorer.html"),
    (["--out", ""], "--out"),
    (["--out", "{tmp}/e.html", "--fit", "{tmp}/no-fit"], "--fit {tmp}/no-fit"),
    (["--out", "{tmp}/e.html", "--members", "-1"], "--members -1"),
    (["--out", "{tmp}/e.html", "--members", "1001"], "--members 1001: give at most 1000"),
    (["--out", "{tmp}/e.html", "--seed", "-5"], "--seed -5"),
    (["--out", "{tmp}/e.html", "--uncalibrated", "--members", "5"],
     "--members 5: an uncalibrated model has no posterior sample"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, says):
    result = _invoke("explore", *[a.format(tmp=tmp_path) for a in args])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert says.format(tmp=tmp_path) in lines[0]
    assert not (tmp_path / "e.html").exists()


def test_compare_writes_the_explorer_beside_its_report(tmp_path):
    """With the comparison's fit; the comparison's own outputs are as without --explorer
    (the option is no part of their manifest)."""
    result = _invoke("compare", "own-brand", "--uncalibrated", "--report", tmp_path / "r.html",
                     "--out", tmp_path / "results", "--explorer", tmp_path / "e.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "e.html").read_text(encoding="utf-8")
    assert "the .mdl&#x27;s own values" in page or "the .mdl's own values" in page
    assert '"sample":' not in page  # an uncalibrated model has none
    assert (tmp_path / "r.html").is_file()
    options = json.loads((tmp_path / "results" / "manifest.json").read_text())["settings"]
    assert "explorer_file" not in options and "explorer" not in options


def test_compare_refuses_an_explorer_on_its_report(tmp_path):
    report = tmp_path / "r.html"
    result = _invoke("compare", "own-brand", "--report", report, "--explorer", report)
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert not report.exists()
