"""A run that goes numerically wrong stops with an error naming the variable, element and time."""

from __future__ import annotations

import pytest
from toy_models import write_model

from sd_runner.engine import FastModel
from sd_runner.errors import RunError
from sd_runner.model.loading import SDModel

DRAINED = """
Stock[Place]= INTEG (Inflow[Place] - Outflow, 10)
	~	Widget [0,?]
	~		|

Inflow[Place]= Rate[Place]
	~	Widget/Year
	~		|

Rate[Place]= 1, 2
	~	Widget/Year
	~		|

Outflow= 5
	~	Widget/Year
	~		|

Place: North, South
	~
	~		|
"""

EXPLODING = """
Stock= INTEG (Inflow, 1)
	~	Widget
	~		|

Inflow= EXP(Stock * 100)
	~	Widget/Year
	~		|
"""

DIVIDED = """
Stock= INTEG (Inflow, 1)
	~	Widget
	~		|

Inflow= 1 / (Time - 2)
	~	Widget/Year
	~		|
"""


@pytest.mark.parametrize("engine", [FastModel, SDModel], ids=["fast", "pysd"])
def test_a_stock_below_its_declared_minimum_is_named_with_element_and_time(tmp_path, engine):
    model = engine(write_model(tmp_path, DRAINED))
    # North drains at 4 a year from 10: -1 at time 2.75, the first TIME STEP (0.25) below 0,
    # although the first saved time (SAVEPER 1) below 0 is 3.
    with pytest.raises(RunError, match=r"Stock\[North\] is -1 at time 2.75, below its "
                                       r"declared minimum 0; check the parameter values"):
        model.run()


@pytest.mark.parametrize("engine", [FastModel, SDModel], ids=["fast", "pysd"])
def test_a_value_that_is_not_finite_is_named_with_its_time(tmp_path, engine):
    model = engine(write_model(tmp_path, EXPLODING))
    # Stock 1 gives an inflow of e^100, so the stock is e^100 / 4 at the first step and the
    # inflow e^(2.7e44): inf at time 0.25, the first TIME STEP, not at the first saved time.
    with pytest.raises(RunError, match=r"went numerically wrong: Inflow is inf at time 0.25;"):
        model.run()


def test_a_division_by_zero_in_pysd_names_the_equation_and_the_time(tmp_path):
    # PySD's Python floats raise at 1 / 0 (the fast engine gives inf, caught as above).
    model = SDModel(write_model(tmp_path, DIVIDED))
    with pytest.raises(RunError, match=r"the run failed in Inflow at time 2: .*division by "
                                       r"zero; check the parameter values"):
        model.run()


def test_a_run_within_its_limits_passes(tmp_path):
    frame = FastModel(write_model(tmp_path, DRAINED)).run(final_time=2)
    assert frame["Stock[North]"].min() >= 0
