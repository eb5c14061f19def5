"""The claims table of models/README.md stays in step with models/checks.toml."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO

from sd_runner.feedback.graph import load_loop_names

TABLE_HEADER = "| Claim | The paper says | Shown by | In the model |"


def claims_table() -> dict[str, set[str]]:
    """Each claim of the table with the assertion ids (and loop codes) its row names."""
    text = (REPO / "models" / "README.md").read_text(encoding="utf-8")
    assert TABLE_HEADER in text
    rows = {}
    for line in text.split(TABLE_HEADER, 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        claim = re.fullmatch(r"`([^`]+)`", cells[0])
        assert claim, line
        assert claim[1] not in rows, f"claim {claim[1]} has two rows"
        rows[claim[1]] = set(re.findall(r"`([^`]+)`", cells[2]))
        assert cells[3], f"claim {claim[1]}: say whether it holds in the model"
    return rows


def assertions() -> list[dict]:
    with open(REPO / "models" / "checks.toml", "rb") as file:
        return tomllib.load(file)["assertion"]


def test_every_claim_of_the_checks_has_a_row_listing_exactly_its_assertions():
    rows = claims_table()
    codes = {name.code for name in load_loop_names(REPO / "models" / "loops.toml")}
    by_claim: dict[str, set[str]] = {}
    for assertion in assertions():
        if "claim" in assertion:
            by_claim.setdefault(assertion["claim"], set()).add(assertion["id"])
    assert set(by_claim) <= set(rows), set(by_claim) - set(rows)
    for claim, named in rows.items():
        listed = named - codes
        assert listed == by_claim.get(claim, set()), claim
        assert named, f"claim {claim}: name the assertions or knockouts that show it"


def test_the_table_names_no_assertion_that_does_not_exist():
    ids = {assertion["id"] for assertion in assertions()}
    codes = {name.code for name in load_loop_names(REPO / "models" / "loops.toml")}
    for claim, named in claims_table().items():
        assert named <= ids | codes, (claim, named - ids - codes)
