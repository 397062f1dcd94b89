"""memberflow.datasets: the example district (shape, calibration, targets, overseers)
and synthetic organisations (size, reproducibility, shape)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from helpers import hamilton, nx_root, nx_tree

import memberflow as mf


def base_organisations(sc: mf.Scenario) -> list[str]:
    frame = sc.org.to_frame()
    root = frame.loc[frame["parent_id"].isna(), "unit_id"].item()
    return frame.loc[frame["parent_id"] == root, "unit_id"].tolist()


@pytest.mark.parametrize("year", [2020, 2021])
def test_example_district_shape(year):
    sc = mf.datasets.example_district(year)
    frame = sc.org.to_frame()
    g = nx_tree(frame)
    assert nx.is_arborescence(g)
    root = nx_root(g)
    assert root == "D" and frame.set_index("unit_id").loc["D", "kind"] == "district"
    kinds = frame.set_index("unit_id")["kind"]
    bases = list(g.successors(root))
    assert len(bases) == 48
    assert kinds[bases].value_counts().to_dict() == {"cell": 31, "commune_committee": 13, "agency_committee": 4}
    sub_cells = kinds[kinds == "sub_cell"].index
    assert len(sub_cells) == 218
    committees = [b for b in bases if kinds[b] != "cell"]
    assert len(committees) == 17
    # every sub-cell hangs under one of the 17 committees; cells have no children
    assert {next(g.predecessors(s)) for s in sub_cells} == set(committees)
    assert all(g.out_degree(b) == 0 for b in bases if kinds[b] == "cell")
    assert len(frame) == 1 + 48 + 218
    full = sc.stock_totals()["full"]
    assert full.sum() > 6000
    assert sc.org.attribute("rural").dtype == "boolean"


def test_example_district_overseers(district2021):
    org = district2021.org
    bases = base_organisations(district2021)
    overseers = org.overseers
    assert len(overseers) == 7
    covered = [u for units in overseers.values() for u in units]
    assert set(covered) == set(bases)
    assert len(covered) == len(set(covered)) == 48  # each base organisation has exactly one overseer
    for b in bases:
        assert len(org.overseers_of(b)) == 1 and b in overseers[org.overseers_of(b)[0]]
    assert org.overseers_of("C01-01") == []


def test_example_district_targets(district2021):
    sc = district2021
    targets = sc.targets
    bases = base_organisations(sc)
    assert targets["D"] == 160
    assert set(targets.index) == {"D", *bases}
    assert targets[bases].sum() == 160
    assert (targets[bases] == targets[bases].round()).all() and (targets[bases] >= 0).all()
    # split in proportion to each base organisation's members (largest remainders)
    g = nx_tree(sc.org.to_frame())
    full = sc.stock_totals()["full"]
    members = [sum(full[v] for v in nx.descendants(g, b) | {b}) for b in bases]
    assert targets[bases].astype(int).tolist() == hamilton(160, members)


def test_example_district_2020_has_no_targets(district2020):
    assert len(district2020.targets) == 0


def test_example_district_2020_calibration(district2020_forecast):
    fc = district2020_forecast
    admissions = fc.mean("admissions", window=(0, 12))["D"]
    confirmations = fc.mean("confirmations", window=(0, 12))["D"]
    assert admissions == pytest.approx(89, rel=0.02)
    assert confirmations == pytest.approx(141, rel=0.02)


def test_example_district_2021_is_2020_a_year_on(district2020_forecast, district2021):
    """The 2021 state is the expected state after 2020, in whole people."""
    fc = district2020_forecast
    totals = district2021.stock_totals()
    for s in ("source", "training", "probation", "full"):
        expected = fc.mean(s, month=12)["D"]
        assert abs(totals[s].sum() - expected) <= 1, s
    # the two years share the organisation and the parameters
    pd.testing.assert_frame_equal(district2021.org.to_frame(), fc.org.to_frame())
    for name in ("advance", "exit", "pass_rate", "attrition", "inflow", "transfer_in"):
        pd.testing.assert_frame_equal(pd.DataFrame(district2021.param(name)), pd.DataFrame(fc.scenario.param(name)))


def test_example_district_rural_units_train_slower(district2020):
    rural = district2020.org.attribute("rural").fillna(False).astype(bool)
    training = district2020.param("advance")["training"]
    assert (training[rural] == 0.10).all() and (training[~rural] == 0.15).all()
    assert rural.sum() > 0 and (~rural).sum() > 0


def test_example_district_is_deterministic():
    a, b = mf.datasets.example_district(), mf.datasets.example_district()
    pd.testing.assert_frame_equal(a.stock_totals(), b.stock_totals())
    pd.testing.assert_frame_equal(a.stocks, b.stocks)


def level_sizes(fanout):
    sizes = [1]
    for f in fanout:  # round(parents x fanout) children, at least one each
        sizes.append(max(int(np.floor(sizes[-1] * f + 0.5)), sizes[-1]))
    return sizes


def snapshot(sc: mf.Scenario):
    return sc.org.to_frame(), sc.stocks, sc.param("inflow"), sc.param("advance")


@pytest.mark.parametrize("fanout", [(3, 2.4), (2, 1.3, 3.2)])
def test_synthetic_reproducible_by_seed(fanout):
    kinds = ["top"] + [f"l{i}" for i in range(len(fanout))]
    a = mf.datasets.synthetic(None, fanout=fanout, kinds=kinds, seed=11)
    b = mf.datasets.synthetic(None, fanout=fanout, kinds=kinds, seed=11)
    for x, y in zip(snapshot(a), snapshot(b)):
        if isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x, y)
        else:
            pd.testing.assert_frame_equal(x, y)
    others = [mf.datasets.synthetic(None, fanout=fanout, kinds=kinds, seed=s) for s in (12, 13, 999)]
    for c in others:
        assert not all(x.equals(y) for x, y in zip(snapshot(a), snapshot(c)))
        assert not a.stocks.equals(c.stocks)


@pytest.mark.parametrize("fanout", [(3, 2.4), (2, 1.3, 3.2), (5,), (1, 1, 1)])
@pytest.mark.parametrize("seed", [0, 7])
def test_synthetic_shape(fanout, seed):
    kinds = ["top"] + [f"l{i}" for i in range(len(fanout))]
    sc = mf.datasets.synthetic(None, fanout=fanout, kinds=kinds, members_per_leaf=30, seed=seed)
    frame = sc.org.to_frame()
    g = nx_tree(frame)
    assert nx.is_arborescence(g)
    depth = nx.shortest_path_length(g, nx_root(g))
    sizes = level_sizes(fanout)
    assert len(sc.org) == sum(sizes)
    for level, size in enumerate(sizes):
        at_level = [u for u, d in depth.items() if d == level]
        assert len(at_level) == size
        assert set(frame.set_index("unit_id").loc[at_level, "kind"]) == {kinds[level]}
    leaves = {u for u in g if g.out_degree(u) == 0}
    assert leaves == {u for u, d in depth.items() if d == len(fanout)}  # every inner unit has children
    people = sc.stock_totals().sum(axis=1)
    assert (people[[u for u in sc.org.ids if u not in leaves]] == 0).all()  # members sit in the leaves
    assert (sc.stock_totals()["full"][list(leaves)] >= 0).all()
    mean_full = sc.stock_totals()["full"][list(leaves)].mean()
    assert 0.5 * 30 <= mean_full <= 1.5 * 30


def test_synthetic_district_size():
    sc = mf.datasets.synthetic("district")
    kinds = sc.org.kinds.value_counts().to_dict()
    assert kinds == {"district": 1, "base": 48, "cell": 216}
    assert len(sc.org) == 265 == sum(level_sizes(mf.datasets.SCALES["district"][0]))
    assert len(sc.targets) == 0
    # rural leaves have a thinner source than urban ones
    rural = sc.org.attribute("rural")
    leaves = sc.org.units_of_kind("cell")
    inflow = sc.param("inflow")
    rural_leaves = [u for u in leaves if rural[u] is not pd.NA and bool(rural[u])]
    urban_leaves = [u for u in leaves if rural[u] is not pd.NA and not bool(rural[u])]
    assert rural_leaves and urban_leaves and len(rural_leaves) + len(urban_leaves) == len(leaves)
    assert inflow[rural_leaves].max() < inflow[urban_leaves].min()
    # a leaf is rural exactly when its base organisation is
    for u in leaves:
        assert bool(rural[u]) == bool(rural[sc.org.parent(u)])


def test_synthetic_forecast_runs_and_conserves_totals():
    sc = mf.datasets.synthetic("district", seed=4)
    fc = mf.forecast(sc, horizon=12)
    total = fc.mean("admissions")[sc.org.root]
    assert total == pytest.approx(np.asarray(fc.own("admissions")).sum(), rel=1e-12)
    assert total > 0
