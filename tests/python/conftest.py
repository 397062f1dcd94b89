"""Shared fixtures of the memberflow test suite.

Everything random is seeded: numpy Generators get fixed seeds and hypothesis runs
derandomized, so a failure reproduces on every run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

import memberflow as mf

settings.register_profile(
    "memberflow",
    derandomize=True,  # the same examples on every run
    database=None,  # nothing written into the repository
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("memberflow")

SEED = 20210201


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(SEED)


@pytest.fixture
def small_frame() -> pd.DataFrame:
    """A small hand-built organisation, children listed before their parents in places,
    with one attribute of each type and missing cells."""
    return pd.DataFrame({
        "unit_id": ["C1-1", "D", "C1", "C2", "C1-2", "C2-1", "B1", "C1-2-a"],
        "parent_id": ["C1", None, "D", "D", "C1", "C2", "D", "C1-2"],
        "name": ["Village 1", "District", "Commune 1", "Commune 2", "Village 2, east", 'Group "one"', "Cell B1",
                 "Team a"],
        "kind": ["sub_cell", "district", "commune_committee", "commune_committee", "sub_cell", "sub_cell", "cell",
                 "team"],
        "rural": [True, False, True, None, True, False, False, None],
        "population": pd.array([120, None, 900, 450, 80, 300, -5, 7], dtype="Int64"),
        "area": [1.5, 20.25, np.nan, 4.0, 0.125, 2.0, 1e-3, 0.5],
        "note": ["", "seat", "x,y", None, "multi\nline", "007", "TRUE?", "a"],
    })


@pytest.fixture
def small_org(small_frame: pd.DataFrame) -> mf.Org:
    return mf.Org.from_frame(small_frame)


@pytest.fixture
def tri_org() -> mf.Org:
    """Three units: a root R with two children A and B (kinds differ)."""
    return mf.Org.from_frame(pd.DataFrame({
        "unit_id": ["R", "A", "B"],
        "parent_id": [None, "R", "R"],
        "kind": ["district", "cell", "committee"],
    }))


@pytest.fixture(scope="session")
def district2020() -> mf.Scenario:
    return mf.datasets.example_district(2020)


@pytest.fixture(scope="session")
def district2021() -> mf.Scenario:
    return mf.datasets.example_district()


@pytest.fixture(scope="session")
def district2020_forecast(district2020: mf.Scenario) -> mf.Forecast:
    return mf.forecast(district2020, horizon=12)
