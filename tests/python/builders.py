"""memberflow objects built from the reference Model of model_reference.py, shared by the
tests that compare the engines with that reference (test_forecast.py, test_exact.py)."""

from __future__ import annotations

from model_reference import Model

import memberflow as mf
from memberflow import stage


def pipeline_of(stages, admission: int) -> mf.Pipeline:
    """A memberflow.Pipeline for a Model's stage list (the rates come from the scenario)."""
    made = []
    for name, kind, months in stages:
        if kind == "markov":
            made.append(stage.markov(name, 0.0, 0.0))
        elif kind == "fixed":
            made.append(stage.fixed(name, months, 0.0, 1.0))
        else:
            made.append(stage.terminal(name, 0.0))
    return mf.Pipeline(made, admission=stages[admission][0])


def scenario_of(model: Model, org: mf.Org, targets=None) -> mf.Scenario:
    """The Model's parameters and stocks on `org` as a memberflow.Scenario."""
    return mf.Scenario(org, pipeline_of(model.stages, model.admission), params=model.params_frame(),
                       stocks=model.stocks_frame(), targets=targets)
