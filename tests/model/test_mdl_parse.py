"""The .mdl is parsed once per content and shared by every reader; its one splitter of
expressions at top-level separators."""

import hashlib

import pytest
from pysd.translators.vensim.vensim_file import VensimFile
from toy_models import GOAL, write_model

from sd_runner.engine.compiler import compile_mdl
from sd_runner.engine.cuts import compile_with_cuts
from sd_runner.feedback.graph import CausalGraph
from sd_runner.model import mdl_text
from sd_runner.model.mdl_text import (
    MdlEntry,
    abstract_model,
    parsed_mdl,
    read_mdl,
    split_top_level,
    stock_flows,
)
from sd_runner.model.units import UnitChecker


@pytest.fixture
def two_copies(tmp_path, monkeypatch):
    """Two files of one model's text, a fresh cache and a count of PySD's parses."""
    first = write_model(tmp_path, GOAL)
    (tmp_path / "other").mkdir()
    second = write_model(tmp_path / "other", GOAL)
    mdl_text._parsed.cache_clear()
    parses = []
    real = VensimFile.parse

    def counted(self, *args, **kwargs):  # every parse by PySD, whoever asks for it
        parses.append(self.mdl_path)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(VensimFile, "parse", counted)
    return first, second, parses


def test_one_parse_per_content_shared_by_every_reader(two_copies):
    first, second, parses = two_copies
    parsed = parsed_mdl(first)
    assert parsed_mdl(second) is parsed
    assert parsed.sha256 == hashlib.sha256(first.read_bytes()).hexdigest()
    compiled = compile_mdl(first)
    graph = CausalGraph(second)
    checker = UnitChecker(first)
    entries = read_mdl(second)
    assert len(parses) == 1, "PySD parsed the same text more than once"
    assert mdl_text._parsed.cache_info().misses == 1
    shared = {e.name: e for e in abstract_model(first).sections[0].elements}
    assert all(graph.elements[name] is element for name, element in shared.items())
    assert all(checker.elements[name] is element for name, element in shared.items())
    assert list(parsed.entries) == entries and parsed.entries is parsed_mdl(first).entries
    assert ("Stock", ()) in compiled.slots


def test_other_content_is_parsed_again(two_copies):
    first, second, parses = two_copies
    parsed = parsed_mdl(first)
    second.write_text(second.read_text(encoding="utf-8").replace("= 100", "= 90"),
                      encoding="utf-8")
    assert parsed_mdl(second) is not parsed
    abstract_model(first), abstract_model(second)
    assert len(parses) == 2


def test_readers_leave_the_shared_abstract_model_as_parsed(two_copies):
    first, _, _ = two_copies
    before = repr(abstract_model(first).sections)
    compile_mdl(first)
    CausalGraph(first).loops()
    UnitChecker(first).problems()
    compile_with_cuts(first, [("Stock", "Adjustment")])  # rewrites a private copy
    assert repr(abstract_model(first).sections) == before
    assert abstract_model(first, private=True) is not abstract_model(first)


@pytest.mark.parametrize(("text", "separators", "expected"), [
    # brackets, parentheses and braces hide separators; parts come stripped
    ("a, f(b, c), d[x, y]", ",", [("", "a"), (",", "f(b, c)"), (",", "d[x, y]")]),
    ("a {note, here}, b", ",", [("", "a {note, here}"), (",", "b")]),
    # quoted names may hold separators
    ('"a-b" - c', "+-", [("", '"a-b"'), ("-", "c")]),
    ('"x, y", z', ",", [("", '"x, y"'), (",", "z")]),
    # a sign is not a subtraction: at the start, after an operator or comma, in an exponent
    ("-a + b", "+-", [("", "-a"), ("+", "b")]),
    ("a * -b - c", "+-", [("", "a * -b"), ("-", "c")]),
    ("a - 1e-05 + 2.5E+3", "+-", [("", "a"), ("-", "1e-05"), ("+", "2.5E+3")]),
    ("x :AND: -y", "+-", [("", "x :AND: -y")]),
    # a name that ends in a digit and an e is not a number's exponent
    ("Rate 2e - c", "+-", [("", "Rate 2e"), ("-", "c")]),
    ("a - (b - c)", "+-", [("", "a"), ("-", "(b - c)")]),
])
def test_split_top_level(text, separators, expected):
    assert split_top_level(text, separators) == expected


def test_stock_flows_read_signs_of_leading_terms():
    entry = MdlEntry("S", "", "stock", "INTEG(-Out + In - \"Loss, Net\", S0 * 2)", "", "",
                     "", "")
    assert stock_flows(entry) == (["In"], ["Out", '"Loss, Net"'], "S0 * 2")
