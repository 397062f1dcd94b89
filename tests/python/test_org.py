"""memberflow.Org: loading and saving, typed attributes, overseers, tree queries
(against networkx) and roll-ups (against brute force)."""

from __future__ import annotations

import gc
import json
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from helpers import brute_rollup, nx_root, nx_tree, random_tree_frame, tree_frames
from hypothesis import given
from hypothesis import strategies as st

import memberflow as mf

# -- loading and saving ---------------------------------------------------------------


def test_from_frame_units_in_input_order(small_frame, small_org):
    assert len(small_org) == 8
    assert list(small_org.ids) == list(small_frame["unit_id"])
    assert small_org.ids.name == "unit_id"
    assert small_org.root == "D"
    assert small_org.parent("D") is None
    assert small_org.parent("C1-1") == "C1"
    assert small_org.height == 3
    assert small_org.kinds["C1-2-a"] == "team"
    assert small_org.names["C1-2"] == "Village 2, east"
    assert small_org.units_of_kind("sub_cell") == ["C1-1", "C1-2", "C2-1"]
    assert "C2" in small_org and "Z" not in small_org and 3 not in small_org


def test_typed_attributes_with_missing_cells(small_org):
    rural = small_org.attribute("rural")
    assert str(rural.dtype) == "boolean"
    assert rural.isna().tolist() == [False, False, False, True, False, False, False, True]
    assert rural.dropna().tolist() == [True, False, True, True, False, False]

    population = small_org.attribute("population")
    assert str(population.dtype) == "Int64"
    assert population.isna().tolist() == [False, True, False, False, False, False, False, False]
    assert population.dropna().tolist() == [120, 900, 450, 80, 300, -5, 7]

    area = small_org.attribute("area")
    assert area.dtype == np.float64
    assert math.isnan(area["C1"])
    assert area.drop("C1").tolist() == [1.5, 20.25, 4.0, 0.125, 2.0, 1e-3, 0.5]

    note = small_org.attribute("note")
    assert note.dtype == object
    # an empty cell is a missing value, whatever the type
    assert note.tolist() == [None, "seat", "x,y", None, "multi\nline", "007", "TRUE?", "a"]
    assert note.index.equals(small_org.ids)

    with pytest.raises(mf.UnknownIdError, match="unknown attribute 'nope'"):
        small_org.attribute("nope")


@pytest.mark.parametrize("cells, dtype, values", [
    (["true", "False", "", "TRUE"], "boolean", [True, False, None, True]),
    (["1", "-2", "", "30"], "Int64", [1, -2, None, 30]),
    (["1", "2.5", "", "-3e2"], "float64", [1.0, 2.5, None, -300.0]),
    (["01", "2", "", "3"], "float64", [1.0, 2.0, None, 3.0]),  # '01' is not a canonical integer
    (["1", "yes", "", "0"], "object", ["1", "yes", None, "0"]),
    (["", "", "", ""], "object", [None, None, None, None]),
])
def test_attribute_type_inference_from_csv(tmp_path, cells, dtype, values):
    path = tmp_path / "units.csv"
    lines = ["unit_id,parent_id,name,kind,x"] + [f"U{i},{'' if i == 0 else 'U0'},,k,{c}" for i, c in enumerate(cells)]
    path.write_text("\n".join(lines) + "\n")
    x = mf.Org.from_csv(path).attribute("x")
    assert str(x.dtype) == dtype
    got = [None if pd.isna(v) else v for v in x.tolist()]
    assert got == values


def test_frame_round_trip_identical(small_org):
    first = small_org.to_frame()
    assert list(first.columns) == ["unit_id", "parent_id", "name", "kind", "rural", "population", "area", "note"]
    second = mf.Org.from_frame(first).to_frame()
    pd.testing.assert_frame_equal(first, second)


def test_to_frame_matches_input(small_frame, small_org):
    frame = small_org.to_frame()
    assert frame["unit_id"].tolist() == small_frame["unit_id"].tolist()
    assert frame["parent_id"].tolist() == [None if pd.isna(p) else p for p in small_frame["parent_id"]]
    assert frame["name"].tolist() == small_frame["name"].tolist()
    assert frame["kind"].tolist() == small_frame["kind"].tolist()
    assert frame["parent_id"].iloc[1] is None


def test_frame_round_trip_example_district(district2020):
    first = district2020.org.to_frame()
    pd.testing.assert_frame_equal(first, mf.Org.from_frame(first).to_frame())


@given(tree_frames(max_size=25), st.data())
def test_frame_round_trip_random(frame, data):
    n = len(frame)
    frame = frame.assign(
        flag=data.draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n)),
        count=pd.array(data.draw(st.lists(st.one_of(st.none(), st.integers(-10**12, 10**12)), min_size=n, max_size=n)),
                       dtype="Int64"),
        value=data.draw(st.lists(st.one_of(st.just(np.nan), st.floats(allow_nan=False, allow_infinity=False)),
                                 min_size=n, max_size=n)),
        label=data.draw(st.lists(st.one_of(st.none(), st.text(alphabet='ab ,"\n\\;xé', min_size=1, max_size=5)),
                                 min_size=n, max_size=n)),
    )
    first = mf.Org.from_frame(frame).to_frame()
    pd.testing.assert_frame_equal(first, mf.Org.from_frame(first).to_frame())


def test_integer_ids_with_a_missing_root_parent():
    # pandas stores [None, 1, 1] as floats: the parents 1.0 are the unit 1
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": [1, 2, 3], "parent_id": [None, 1, 1]}))
    assert list(org.ids) == ["1", "2", "3"]
    assert org.children("1") == ["2", "3"]


def test_csv_load_save_load_same_table(tmp_path, small_org):
    path = tmp_path / "units.csv"
    path.write_text(
        "unit_id,parent_id,name,kind,rural,population,area,note\n"
        "C1-1,C1,Village 1,sub_cell,true,120,1.5,\n"
        "D,,District,district,false,,20.25,seat\n"
        "C1,D,Commune 1,commune_committee,true,900,,\"x,y\"\n"
        "C2,D,Commune 2,commune_committee,,450,4.0,\n"
        "C1-2,C1,\"Village 2, east\",sub_cell,true,80,0.125,\"multi\nline\"\n"
        "C2-1,C2,\"Group \"\"one\"\"\",sub_cell,false,300,2,007\n"
        "B1,D,Cell B1,cell,false,-5,1e-3,TRUE?\n"
        "C1-2-a,C1-2,Team a,team,,7,0.5,a\n")
    first = mf.Org.from_csv(path)
    pd.testing.assert_frame_equal(first.to_frame(), small_org.to_frame())  # the CSV holds the fixture's table
    saved = tmp_path / "saved.csv"
    first.to_csv(saved)
    second = mf.Org.from_csv(saved)
    pd.testing.assert_frame_equal(first.to_frame(), second.to_frame())
    again = tmp_path / "again.csv"
    second.to_csv(again)
    assert again.read_bytes() == saved.read_bytes()


@given(tree_frames(max_size=15), st.data())
def test_csv_round_trip_random_text(tmp_path_factory, frame, data):
    n = len(frame)
    frame = frame.assign(name=data.draw(st.lists(st.text(alphabet='ab ,"\n\r\'é', max_size=6), min_size=n, max_size=n)))
    org = mf.Org.from_frame(frame)
    path = tmp_path_factory.mktemp("csv") / "units.csv"
    org.to_csv(path)
    pd.testing.assert_frame_equal(mf.Org.from_csv(path).to_frame(), org.to_frame())


def test_csv_round_trip_keeps_edge_tabs(tmp_path):
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ["D", "A"], "parent_id": [None, "D"], "name": ["x\t", "\ty"]}))
    org.to_csv(tmp_path / "units.csv")
    assert mf.Org.from_csv(tmp_path / "units.csv").names.tolist() == ["x\t", "\ty"]


def test_json_round_trip(tmp_path, small_org):
    path = tmp_path / "org.json"
    small_org.to_json(path)
    back = mf.Org.from_json(path)
    # attribute columns keep their order of first appearance
    pd.testing.assert_frame_equal(back.to_frame(), small_org.to_frame())
    doc = json.loads(small_org.to_json())
    assert [u["unit_id"] for u in doc["units"]] == list(small_org.ids)
    assert doc["units"][1]["parent_id"] is None
    assert doc["units"][0]["attributes"] == {"rural": True, "population": 120, "area": 1.5, "note": None}
    assert list(doc["units"][0]["attributes"]) == ["rural", "population", "area", "note"]


def test_from_json_hand_written(tmp_path):
    path = tmp_path / "org.json"
    path.write_text(json.dumps({
        "units": [
            {"unit_id": "D", "parent_id": None, "name": "District", "kind": "district", "attributes": {"rural": False}},
            {"unit_id": "A", "parent_id": "D", "kind": "cell", "attributes": {"rural": True, "size": 12}},
            {"unit_id": "B", "parent_id": "D", "name": "Bee"},
        ],
        "overseers": [{"overseer_id": "S1", "units": ["A", "B"]}, {"overseer_id": "S2", "units": ["B"]}],
    }))
    org = mf.Org.from_json(path)
    assert list(org.ids) == ["D", "A", "B"]
    assert org.children("D") == ["A", "B"]
    assert org.names.tolist() == ["District", "", "Bee"]
    assert org.attribute("rural").tolist()[:2] == [False, True] and pd.isna(org.attribute("rural")["B"])
    assert str(org.attribute("size").dtype) == "Int64" and org.attribute("size")["A"] == 12
    assert org.overseers == {"S1": ["A", "B"], "S2": ["B"]}
    assert org.overseers_of("B") == ["S1", "S2"]


# -- overseers ------------------------------------------------------------------------

OVERSEERS = pd.DataFrame({"overseer_id": ["S1", "S1", "S2", "S3", "S2"],
                          "unit_id": ["C1", "C2", "B1", "C1-2", "C1"]})


def test_overseers_from_frame(small_frame):
    org = mf.Org.from_frame(small_frame, overseers=OVERSEERS)
    assert org.overseers == {"S1": ["C1", "C2"], "S2": ["B1", "C1"], "S3": ["C1-2"]}
    for unit in org.ids:  # brute force over the assignment rows
        expected = sorted(set(OVERSEERS.loc[OVERSEERS["unit_id"] == unit, "overseer_id"]))
        assert sorted(org.overseers_of(unit)) == expected
    frame = org.overseers_frame()
    assert list(frame.columns) == ["overseer_id", "unit_id"]
    assert set(map(tuple, frame.to_numpy().tolist())) == set(map(tuple, OVERSEERS.to_numpy().tolist()))


def test_overseers_csv_and_json_round_trip(tmp_path, small_frame):
    org = mf.Org.from_frame(small_frame, overseers=OVERSEERS)
    org.to_csv(tmp_path / "units.csv")
    org.overseers_frame().to_csv(tmp_path / "overseers.csv", index=False)
    back = mf.Org.from_csv(tmp_path / "units.csv", overseers=tmp_path / "overseers.csv")
    assert back.overseers == org.overseers
    org.to_json(tmp_path / "org.json")
    assert mf.Org.from_json(tmp_path / "org.json").overseers == org.overseers


def test_overseer_errors(small_frame):
    with pytest.raises(mf.InputError,
                       match=r"overseers DataFrame row 2: overseer 'S1' is assigned to unknown unit 'Q'"):
        mf.Org.from_frame(small_frame, overseers=pd.DataFrame({"overseer_id": ["S1", "S1"], "unit_id": ["C1", "Q"]}))
    with pytest.raises(mf.InputError, match=r"row 2: .*'S1' is assigned to unit 'C1' twice"):
        mf.Org.from_frame(small_frame, overseers=pd.DataFrame({"overseer_id": ["S1", "S1"], "unit_id": ["C1", "C1"]}))


# -- tree queries against networkx ------------------------------------------------------


def preorder_by_hand(g: nx.DiGraph, u: str, position: dict[str, int]) -> list[str]:
    """u, then each child's subtree in turn, children in input order."""
    out, stack = [], [u]
    while stack:
        v = stack.pop()
        out.append(v)
        stack.extend(sorted(g.successors(v), key=position.__getitem__, reverse=True))
    return out


def check_tree_queries(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    org = mf.Org.from_frame(frame)
    g = nx_tree(frame)
    root = nx_root(g)
    ids = list(frame["unit_id"])
    position = {u: i for i, u in enumerate(ids)}
    assert org.root == root
    depth = nx.shortest_path_length(g, root)
    assert org.height == max(depth.values())
    for u in ids:
        # children in input order
        assert org.children(u) == sorted(g.successors(u), key=position.__getitem__)
        path = nx.shortest_path(g, root, u)  # root ... u
        assert org.ancestors(u) == tuple(path[-2::-1])
        assert org.ancestors_of([u]) == {u: tuple(path[-2::-1])}
        assert org.parent(u) == (path[-2] if len(path) > 1 else None)
        desc = org.descendants(u)
        assert len(desc) == len(set(desc))
        assert set(desc) == nx.descendants(g, u)
        sub = org.subtree(u)
        assert sub[0] == u and sub[1:] == desc
        assert sub == preorder_by_hand(g, u, position)
        assert org.depth(u) == depth[u]
    pairs = [(ids[i], ids[j]) for i, j in rng.integers(0, len(ids), size=(min(60, len(ids) ** 2), 2))]
    for a, b in pairs:
        assert org.lca([a, b]) == nx.lowest_common_ancestor(g, a, b)
    for _ in range(10):
        k = int(rng.integers(1, min(6, len(ids)) + 1))
        group = list(rng.choice(ids, size=k, replace=False))
        expected = group[0]
        for v in group[1:]:
            expected = nx.lowest_common_ancestor(g, expected, v)
        assert org.lca(group) == expected


@given(tree_frames())
def test_tree_queries_vs_networkx_hypothesis(frame):
    check_tree_queries(frame, np.random.default_rng(len(frame)))


@pytest.mark.parametrize("n", [1, 2, 7, 60, 400])
def test_tree_queries_vs_networkx_seeded(rng, n):
    check_tree_queries(random_tree_frame(rng, n), rng)


def test_tree_queries_example_district(district2020):
    org = district2020.org
    check_tree_queries(org.to_frame(), np.random.default_rng(7))


# -- roll-ups against brute force -------------------------------------------------------


@pytest.mark.parametrize("n", [1, 5, 50, 300])
def test_rollup_vs_brute_force(rng, n):
    frame = random_tree_frame(rng, n)
    org = mf.Org.from_frame(frame)
    g = nx_tree(frame)
    ids = list(frame["unit_id"])
    some = list(rng.choice(ids, size=max(1, n // 2), replace=False))
    values = pd.Series(rng.normal(size=len(some)).round(3) * 100, index=some, name="members")
    expected = brute_rollup(g, values.to_dict())  # units not in the Series count as 0
    got = org.rollup(values)
    assert got.name == "members"
    assert got.index.equals(org.ids)
    for u in ids:
        assert got[u] == pytest.approx(expected[u], abs=1e-9)
    # the same through a mapping and through an array in the order of ids
    pd.testing.assert_series_equal(org.rollup(values.to_dict()), got.rename(None))
    array = np.array([values.get(u, 0.0) for u in ids])
    np.testing.assert_allclose(org.rollup(array).to_numpy(), got.to_numpy(), rtol=0, atol=1e-9)


@pytest.mark.parametrize("n", [1, 7, 300])
def test_rollup_of_a_series_in_its_own_order(rng, n):
    """A Series indexed in another order than org.ids, with units missing (0) or a frame's
    rows: placed by id, the same totals as the brute force."""
    frame = random_tree_frame(rng, n)
    org = mf.Org.from_frame(frame)
    g = nx_tree(frame)
    ids = list(frame["unit_id"])
    some = list(rng.permutation(ids)[: max(1, n - n // 3)])
    values = pd.Series(rng.integers(-50, 50, size=len(some)).astype(float), index=some)
    expected = brute_rollup(g, values.to_dict())
    assert org.rollup(values).to_dict() == expected
    everyone = pd.Series(rng.integers(0, 9, size=n).astype(float), index=rng.permutation(ids))
    assert org.rollup(everyone).to_dict() == brute_rollup(g, everyone.to_dict())
    rows = pd.DataFrame({"a": values, "b": 2 * values})
    both = org._core.rollup(org.align(rows, "rollup"))
    assert [dict(zip(ids, both[:, j])) for j in range(2)] == [expected, {u: 2 * v for u, v in expected.items()}]


@pytest.mark.parametrize("n", [5, 40, 300])
def test_rollup_places_the_orgs_own_id_objects_and_equal_new_strs_alike(rng, n):
    """A Series built from org.ids (its very str objects, as memberflow's results hold
    them: placed by address) and the same ids as new strs (by text), shuffled, mixed in
    either order, with an unknown id among them: the same totals as the brute force."""
    frame = random_tree_frame(rng, n)
    org = mf.Org.from_frame(frame)
    g = nx_tree(frame)
    order = rng.permutation(n)
    own_objects = [org.ids[i] for i in order]  # the objects of org.ids
    new_strs = ["".join(list(u)) for u in own_objects]  # equal text, other objects
    assert all(a == b and a is not b for a, b in zip(own_objects, new_strs) if len(a) > 1)
    values = rng.integers(-50, 50, size=n).astype(float)
    expected = brute_rollup(g, dict(zip(own_objects, values)))
    half = n // 2
    for index in (own_objects, new_strs, own_objects[:half] + new_strs[half:], new_strs[:half] + own_objects[half:]):
        series = pd.Series(values, index=pd.Index(index, dtype=object))
        assert org.rollup(series).to_dict() == expected
        with pytest.raises(mf.UnknownIdError, match=r"unknown unit\(s\) \['nowhere'\]"):
            org.rollup(pd.Series(list(values) + [1.0], index=pd.Index(index + ["nowhere"], dtype=object)))
        with pytest.raises(mf.InputError, match="given twice"):
            org.rollup(pd.Series(list(values) + [1.0], index=pd.Index(index + [new_strs[0]], dtype=object)))


def test_rollup_of_a_foreign_index_refuses_unknown_and_repeated_ids(small_org):
    shuffled = small_org.ids[::-1]
    with pytest.raises(mf.UnknownIdError, match=r"unknown unit\(s\) \['elsewhere', 'nowhere'\]"):
        small_org.rollup(pd.Series(1.0, index=list(shuffled[:3]) + ["nowhere", "elsewhere", "nowhere"]))
    with pytest.raises(mf.UnknownIdError, match=r"unknown unit\(s\) \[5\]"):
        small_org.rollup(pd.Series([1.0, 2.0], index=[shuffled[0], 5]))
    with pytest.raises(mf.UnknownIdError, match=r"unknown unit\(s\) \[None\]"):
        small_org.rollup(pd.Series([1.0, 2.0], index=pd.Index([shuffled[0], None], dtype=object)))
    with pytest.raises(mf.UnknownIdError, match="unknown unit"):  # a str that UTF-8 cannot encode
        small_org.rollup(pd.Series([1.0], index=pd.Index(["C1\ud800"], dtype=object)))
    with pytest.raises(mf.InputError, match=r"unit\(s\) given twice: \['C1'\]"):
        small_org.rollup(pd.Series(1.0, index=["C2", "C1", "D", "C1"]))
    with pytest.raises(mf.InputError, match=r"NaN values for unit\(s\) \['C2'\]"):
        small_org.rollup(pd.Series([1.0, np.nan], index=["D", "C2"]))


def test_rollup_unknown_id(small_org):
    with pytest.raises(mf.UnknownIdError, match=r"unknown unit\(s\) \['nowhere'\]"):
        small_org.rollup(pd.Series({"C1": 1.0, "nowhere": 2.0}))
    with pytest.raises(KeyError):
        small_org.rollup({"nowhere": 1.0})


def test_rollup_bad_values(small_org):
    with pytest.raises(mf.InputError, match="array of 3 values for 8 units"):
        small_org.rollup(np.ones(3))
    with pytest.raises(mf.InputError, match=r"NaN values for unit\(s\) \['C2'\]"):
        small_org.rollup({"C2": np.nan})
    nan_rows = np.zeros((8, 2))
    nan_rows[3, 1] = np.nan
    with pytest.raises(mf.InputError, match=r"NaN values for unit\(s\) \['C2'\]"):
        small_org.align(nan_rows, "rollup")


def test_rollup_small_by_hand(small_org):
    got = small_org.rollup({"C1-2-a": 1, "C1-2": 10, "C1": 100, "B1": 1000, "D": 10000})
    assert got.to_dict() == {"C1-1": 0, "D": 11111, "C1": 111, "C2": 0, "C1-2": 11, "C2-1": 0, "B1": 1000,
                             "C1-2-a": 1}


@given(tree_frames(), st.data())
def test_rollup_invariants(frame, data):
    org = mf.Org.from_frame(frame)
    g = nx_tree(frame)
    values = data.draw(st.lists(st.integers(-1000, 1000), min_size=len(frame), max_size=len(frame)))
    own = pd.Series(values, index=frame["unit_id"], dtype=float)
    total = org.rollup(own)
    assert total[nx_root(g)] == own.sum()
    for u in frame["unit_id"]:
        assert total[u] == own[u] + sum(total[c] for c in g.successors(u))


# -- display --------------------------------------------------------------------------------


def test_org_display(district2020):
    org = district2020.org
    text = repr(org)
    assert "267 units" in text and "height 2" in text and "'D'" in text
    html = org._repr_html_()
    assert "267 units" in html and "7 overseers" in html
    assert "<table" in html and "218" in html and "sub_cell" in html


def test_ancestors_of_an_unknown_or_unhashable_id_name_it(small_org):
    for org in (small_org, mf.Org.from_frame(small_org.to_frame())):  # before and after the table is filled
        with pytest.raises(mf.UnknownIdError, match=r"unknown unit 'nowhere'"):
            org.ancestors("nowhere")
        with pytest.raises(mf.UnknownIdError, match=r"unknown unit \['C1'\]"):
            org.ancestors(["C1"])
        with pytest.raises(KeyError):
            org.ancestors_of(["C1", "nowhere"])
    assert small_org.ancestors(small_org.root) == ()


def test_ancestors_on_a_fresh_org_answer_with_the_orgs_own_id_objects(rng):
    """Each call answers its own unit (against networkx), first and repeated alike, with
    the very str objects of org.ids (no new strings); siblings share one tuple."""
    frame = random_tree_frame(rng, 400)
    g = nx_tree(frame)
    root = nx_root(g)
    org = mf.Org.from_frame(frame)
    own = {id(u) for u in org.ids}
    asked = list(rng.choice(frame["unit_id"], size=25, replace=False))
    for u in asked + asked:
        chain = org.ancestors(u)
        assert type(chain) is tuple and chain == tuple(nx.shortest_path(g, root, u)[-2::-1])
        assert all(id(a) in own for a in chain)
    siblings = frame.groupby("parent_id")["unit_id"].agg(list)
    first, second = next(pair[:2] for pair in siblings if len(pair) > 1)
    assert org.ancestors(first) is org.ancestors(second)  # one tuple, made for their parent


def test_orgs_over_one_tree_share_its_id_objects():
    core = mf.datasets.example_district().org._core
    first, second = mf.Org(core), mf.Org(core)
    assert all(a is b for a, b in zip(first.ids, second.ids))
    second.ids.name = "renamed"  # each Org has its own Index over the shared objects
    assert first.ids.name == "unit_id"
    ancestors = first.ancestors
    del first, second, core
    gc.collect()
    assert ancestors("C01-02") == ("C01", "D")  # the function keeps the tree it walks alive


def test_ancestors_in_a_deep_chain():
    depth = 200  # below depth 64 a unit's answer is its parent's tuple; deeper ones walk
    ids = [f"u{i}" for i in range(depth + 1)]
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ids, "parent_id": [None] + ids[:-1]}))
    for _ in range(2):
        assert org.ancestors(ids[-1]) == tuple(reversed(ids[:-1]))
        assert org.ancestors(ids[10]) == tuple(reversed(ids[:10]))
    assert org.descendants(ids[-3]) == ids[-2:] and org.subtree(ids[1]) == ids[1:]


def test_ancestors_of_what_is_not_a_unit_id_raise_unknown_id_naming_it(small_org):
    for bad, shown in [(5, r"5 \(unit ids are str, got int\)"), (None, "None"), (b"C1", r"b'C1' \(.*bytes"),
                       ("\ud800", r"'\\ud800'"), ("", "''")]:
        with pytest.raises(mf.UnknownIdError, match=r"unknown unit " + shown):
            small_org.ancestors(bad)

    class Unprintable:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    with pytest.raises(RuntimeError, match="no repr"):  # its own error, not a crash
        small_org.ancestors(Unprintable())


def test_units_in_scope_names_the_units_replace_would_change():
    scn = mf.datasets.example_district()
    org = scn.org
    order = {u: i for i, u in enumerate(org.ids)}
    assert org.units_in_scope("kind:sub_cell") == org.units_of_kind("sub_cell")
    assert org.units_in_scope("subtree:C01") == sorted(org.subtree("C01"), key=order.get)
    assert org.units_in_scope("*") == list(org.ids)
    assert org.units_in_scope("C01-02") == ["C01-02"]
    with pytest.raises(mf.UnknownIdError, match="nope"):
        org.units_in_scope("kind:nope")
