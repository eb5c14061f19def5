"""models/README.md documents the model as it is, and every parameter says where it comes from."""

from __future__ import annotations

from conftest import REPO

from sd_runner.model.mdl_text import read_mdl
from sd_runner.reports import model_doc


def test_readme_tables_match_the_mdl():
    readme = REPO / "models" / "README.md"
    current, refreshed = model_doc.refresh(readme, REPO / "models" / "value_chain_capture.mdl")
    assert current == refreshed, "run: python -m sd_runner.reports.model_doc models/README.md"


def test_every_parameter_states_its_basis():
    for entry in read_mdl(REPO / "models" / "value_chain_capture.mdl"):
        if model_doc.is_parameter(entry):
            assert model_doc.basis(entry), f"{entry.name}: say data, paper, literature or assumed"


def test_check_mode_reports_drift(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{model_doc.START}\nold\n{model_doc.END}\n", encoding="utf-8")
    mdl = REPO / "models" / "value_chain_capture.mdl"
    assert model_doc.main(["--check", str(readme), str(mdl)]) == 1
    assert model_doc.main([str(readme), str(mdl)]) == 0
    assert model_doc.main(["--check", str(readme), str(mdl)]) == 0
    assert "| Buyer Squeeze Strength | Dmnl | 0.6 | paper |" in readme.read_text(encoding="utf-8")
