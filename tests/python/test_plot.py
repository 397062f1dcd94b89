"""Plots (issue 12, point 1), headless: the drawn data is read back from the artists and
compared with references computed here, and every kind of plot is rendered once to PNG.

The fan chart is checked on the small world of test_progress.py, whose counts have closed
forms: people in a markov training stage (advance p, exit e, nobody arriving) are
admitted independently within m months with probability q(m), so a subtree's cumulative
admissions are Binomial(its people, q(m)) and its training stock Binomial(its people,
(1 - p - e)^m)."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")  # headless: set before pyplot is imported

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PatchCollection, PolyCollection  # noqa: E402
from test_progress import ADMITTED, E, P, TRAINING, binom_pmf, events, q, quantile, subtree_counts, world  # noqa: E402

import memberflow as mf  # noqa: E402
from memberflow.progress import STATUSES  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def render(figure, tmp_path, name: str) -> None:
    """Render to PNG once and check the file is a PNG with something in it."""
    path = tmp_path / f"{name}.png"
    figure.savefig(path, dpi=60)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 1000


@pytest.fixture(scope="module")
def district():
    scn = mf.datasets.example_district()
    return scn, mf.forecast(scn, 12, method="exact")


@pytest.fixture(scope="module")
def tiny():
    scn = world()
    return scn, mf.forecast(scn, 12, method="exact")


def band(ax, label: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, lower and upper edge of the fill_between band with ``label``."""
    (poly,) = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_label() == label]
    vertices = poly.get_paths()[0].vertices
    xs = np.unique(vertices[:, 0])
    lo = np.array([vertices[vertices[:, 0] == x, 1].min() for x in xs])
    hi = np.array([vertices[vertices[:, 0] == x, 1].max() for x in xs])
    return xs, lo, hi


def line(ax, label_start: str):
    (found,) = [ln for ln in ax.get_lines() if ln.get_label().startswith(label_start)]
    return found


def x_of(artist) -> np.ndarray:
    """A line's x as numbers (dates as matplotlib draws them)."""
    x = np.asarray(artist.get_xdata())
    return mdates.date2num(x) if np.issubdtype(x.dtype, np.datetime64) or x.dtype == object else x


def month_x(start: str, months) -> np.ndarray:
    """The x of months counted from ``start`` as matplotlib draws dates."""
    return mdates.date2num(pd.period_range(start, periods=max(months) + 1, freq="M").to_timestamp()[list(months)])


# -- fan -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("unit", ["D", "A", "B"])
def test_fan_of_cumulative_admissions_draws_the_binomial_quantiles(tiny, tmp_path, unit):
    scn, ex = tiny
    ax = mf.plot.fan(ex, "admissions", unit=unit)
    n = subtree_counts(TRAINING)[unit]
    pmfs = [binom_pmf(n, q(m)) for m in range(1, 13)]
    for label, (a, b) in {"90%": (0.05, 0.95), "50%": (0.25, 0.75)}.items():
        xs, lo, hi = band(ax, label)
        np.testing.assert_allclose(xs, month_x("2021-01", range(13)))
        np.testing.assert_array_equal(lo, [0] + [quantile(p, a) for p in pmfs])
        np.testing.assert_array_equal(hi, [0] + [quantile(p, b) for p in pmfs])
    np.testing.assert_array_equal(line(ax, "median").get_ydata(), [0] + [quantile(p, 0.5) for p in pmfs])
    target = line(ax, "yearly target")
    assert set(target.get_ydata()) == {mf.forecast(scn, 12).target_window()[unit]}
    if unit == "D":
        render(ax.figure, tmp_path, "fan")


def test_fan_of_a_stock_and_of_monthly_counts(tiny):
    _, ex = tiny
    n = subtree_counts(TRAINING)["D"]
    ax = mf.plot.fan(ex, "training", unit="D")
    stay = [binom_pmf(n, (1 - P - E) ** m) for m in range(13)]  # still in training at the start of month m
    xs, lo, hi = band(ax, "90%")
    np.testing.assert_allclose(xs, month_x("2021-01", range(13)))
    np.testing.assert_array_equal(lo, [quantile(p, 0.05) for p in stay])
    np.testing.assert_array_equal(hi, [quantile(p, 0.95) for p in stay])
    # admitted within month m: Binomial(n, q(m + 1) - q(m)) (independent people)
    ax = mf.plot.fan(ex, "admissions", unit="D", cumulative=False)
    month = [binom_pmf(n, q(m + 1) - q(m)) for m in range(12)]
    np.testing.assert_array_equal(line(ax, "median").get_ydata(), [quantile(p, 0.5) for p in month])
    assert not [ln for ln in ax.get_lines() if ln.get_label().startswith("yearly target")]  # cumulative only


def test_fan_overlays_the_actuals_of_an_event_log(tiny):
    scn, ex = tiny
    log = mf.EventLog.from_frame(events(admitted=ADMITTED), scn)
    for unit in ["D", "A"]:
        actual = line(mf.plot.fan(ex, "admissions", unit=unit, history=log), "actual")
        units = {"D": ["A", "A1", "B"], "A": ["A", "A1"]}[unit]
        dates = sorted(d for u in units for d in ADMITTED[u])
        months = pd.period_range("2021-01", "2021-06", freq="M").astype(str)
        expected = np.cumsum([dates.count(m) for m in months])
        np.testing.assert_allclose(x_of(actual), month_x("2021-01", range(7)))
        np.testing.assert_array_equal(actual.get_ydata(), np.concatenate([[0], expected]))
    # the training stock at each month's start: everybody there at 2021-01, minus those admitted before
    actual = line(mf.plot.fan(ex, "training", unit="B", history=log), "actual")
    left = [TRAINING["B"] - sum(d < m for d in ADMITTED["B"])
            for m in pd.period_range("2021-01", "2021-06", freq="M").astype(str)]
    np.testing.assert_array_equal(actual.get_ydata(), left)


def test_fan_overlays_a_series_by_month_number_or_calendar_month(tiny):
    _, ex = tiny
    monthly = [3, 1, 0, 2]
    for index in (pd.RangeIndex(4), pd.period_range("2021-01", periods=4, freq="M"),
                  pd.date_range("2021-01-01", periods=4, freq="MS")):
        actual = line(mf.plot.fan(ex, "admissions", unit="D", history=pd.Series(monthly, index=index)), "actual")
        np.testing.assert_array_equal(actual.get_ydata(), [0, 3, 4, 4, 6])
        np.testing.assert_allclose(x_of(actual), month_x("2021-01", range(5)))
    actual = line(mf.plot.fan(ex, "admissions", unit="D", cumulative=False,
                              history=pd.Series([2, 5], index=[3, 4])), "actual")
    np.testing.assert_array_equal(actual.get_ydata(), [2, 5])
    with pytest.raises(mf.InputError, match="month 0 is missing"):
        mf.plot.fan(ex, "admissions", history=pd.Series([2, 5], index=[3, 4]))


def test_fan_overlays_a_count_table_cumulatively_at_each_periods_end():
    h = mf.datasets.example_history()
    counts = mf.CountTable.from_frame(h.yearly, h.start)
    ex = mf.forecast(h.start, 24, method="exact")  # 2016-01 to 2017-12
    actual = line(mf.plot.fan(ex, "admissions", unit="C01", history=counts), "actual")
    subtree = mf.Org.from_frame(h.start.org.to_frame()).subtree("C01")
    yearly = h.yearly[h.yearly["unit_id"].isin(subtree)].groupby("year")["admissions"].sum()
    np.testing.assert_array_equal(actual.get_ydata(), [0, yearly[2016], yearly[2016] + yearly[2017]])
    np.testing.assert_allclose(x_of(actual), month_x("2016-01", [0, 12, 24]))
    stock = line(mf.plot.fan(ex, "full", unit="C01", history=counts), "actual")
    starts = h.yearly[h.yearly["unit_id"].isin(subtree)].groupby("year")["full_start"].sum()
    np.testing.assert_array_equal(stock.get_ydata(), [starts[2016], starts[2017]])


def test_fan_without_a_calendar_counts_months_and_refuses_records(tiny):
    scn, _ = tiny
    plain = world(start=None)
    ex = mf.forecast(plain, 12, method="exact")
    ax = mf.plot.fan(ex, "admissions", unit="D", history=pd.Series([3, 1], index=[0, 1]))
    np.testing.assert_array_equal(line(ax, "median").get_xdata(), np.arange(13))
    np.testing.assert_array_equal(line(ax, "actual").get_xdata(), [0, 1, 2])
    log = mf.EventLog.from_frame(events(admitted=ADMITTED), scn)
    with pytest.raises(mf.InputError, match="no start month"):
        mf.plot.fan(ex, "admissions", history=log)
    with pytest.raises(mf.InputError, match="indexed by date"):
        mf.plot.fan(ex, "admissions", history=pd.Series([1], index=pd.period_range("2021-01", periods=1, freq="M")))


def test_fan_of_a_simulation_needs_its_months_tracked(tiny):
    scn, _ = tiny
    sim = mf.forecast(scn, 12, method="simulate", paths=2000, seed=3, progress=False)
    with pytest.raises(mf.InputError, match=r"track=mf.plot.fan_track\('admissions', 12\)"):
        mf.plot.fan(sim, "admissions")
    sim = mf.forecast(scn, 12, method="simulate", paths=2000, seed=3, progress=False,
                      track=mf.plot.fan_track("admissions", 12) + mf.plot.fan_track("training", 12, stock=True))
    ax = mf.plot.fan(sim, "admissions", unit="A")
    xs, lo, hi = band(ax, "90%")
    for m in (3, 12):  # the simulated pmf's quantiles, from the pmf itself
        pmf = sim.pmf("admissions", "A", window=(0, m))
        cdf = np.cumsum(pmf.to_numpy())
        assert lo[m] == pmf.index[np.searchsorted(cdf, 0.05 * (1 - 1e-15))]
        assert hi[m] == pmf.index[np.searchsorted(cdf, 0.95 * (1 - 1e-15))]
        # and near the closed form: 2,000 paths
        n = subtree_counts(TRAINING)["A"]
        assert abs(lo[m] - quantile(binom_pmf(n, q(m)), 0.05)) <= 1
    band(mf.plot.fan(sim, "training", unit="A"), "50%")


def test_fan_of_an_expected_forecast_draws_the_mean_only_and_says_so(district, tmp_path):
    scn, _ = district
    fc = mf.forecast(scn, 12)
    ax = mf.plot.fan(fc, "admissions", unit="C01")
    mean = line(ax, "expected value")
    assert "mean only" in mean.get_label()
    own = fc.own("admissions")  # units x months, each unit's own: the subtree's by hand
    rows = [list(scn.org.ids).index(u) for u in scn.org.subtree("C01")]
    np.testing.assert_allclose(mean.get_ydata(), np.concatenate([[0], np.cumsum(own[rows].sum(axis=0))]),
                               rtol=1e-12)
    assert not [c for c in ax.collections if isinstance(c, PolyCollection)]
    render(ax.figure, tmp_path, "fan-expected")


def test_fan_title_says_which_forecast_it_draws(district):
    scn, _ = district
    plain = mf.forecast(scn, 12, method="exact")
    assert not plain.predictive
    assert mf.plot.fan(plain, unit="D").get_title() == "admissions at D (cumulative), exact forecast"
    history = mf.datasets.example_history()
    fit = mf.estimate(mf.EventLog.from_frame(history.events, history.start))
    predictive = fit.predict(12, draws=5)
    assert predictive.predictive
    assert "predictive" in mf.plot.fan(predictive, unit="D").get_title()


def test_fan_draws_on_the_axes_given(tiny):
    _, ex = tiny
    figure, (left, right) = plt.subplots(1, 2)
    assert mf.plot.fan(ex, "admissions", ax=right) is right
    assert right.collections and not left.collections


@pytest.mark.parametrize("horizon", [12, 24, 60])
def test_fan_date_labels_do_not_run_into_each_other(district, horizon):
    """On half of a 12-inch figure (two fans side by side, as the notebook draws them)
    matplotlib's default labels ("2021-01", ...) touched each other from 12 months on."""
    scn, _ = district
    figure, (left, _right) = plt.subplots(1, 2, figsize=(12, 4))
    mf.plot.fan(mf.forecast(scn, horizon), "admissions", ax=left)
    figure.canvas.draw()
    boxes = [t.get_window_extent() for t in left.get_xticklabels() if t.get_text()]
    assert len(boxes) >= 3
    for a, b in zip(boxes, boxes[1:]):
        assert a.x1 + 2 < b.x0, [t.get_text() for t in left.get_xticklabels()]


# -- a count's distribution --------------------------------------------------------------------------

def test_distribution_bars_are_the_pmf_with_the_target_and_its_probability(tiny, tmp_path):
    scn, ex = tiny
    ax = mf.plot.distribution(ex, "admissions", unit="B")
    n = subtree_counts(TRAINING)["B"]
    pmf = binom_pmf(n, q(12))
    bars = ax.patches
    heights = {round(b.get_x() + b.get_width() / 2): b.get_height() for b in bars}
    for k, h in heights.items():
        assert h == pytest.approx(pmf[k], abs=1e-12)
    assert sum(heights.values()) == pytest.approx(1, abs=1e-9)
    reaching = {round(b.get_x() + b.get_width() / 2) for b in bars if b.get_facecolor() != bars[0].get_facecolor()}
    assert reaching == {k for k in heights if k >= math.ceil(scn.targets["B"])}  # shaded from the target on
    target = scn.targets["B"]
    (vline,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("target")]
    assert set(vline.get_xdata()) == {target}
    (text,) = [t for t in ax.texts if t.get_gid() == "memberflow-probability"]
    assert text.get_text().startswith(f"P(admissions >= {math.ceil(target)}) = ")
    p_drawn = float(text.get_text().rsplit("= ", 1)[1])
    assert p_drawn == pytest.approx(ex.prob_at_least("admissions", target, unit="B"), abs=5e-4)
    assert p_drawn == pytest.approx(pmf[math.ceil(target):].sum(), abs=5e-4)
    render(ax.figure, tmp_path, "distribution")


def test_distribution_of_a_simulation_is_its_empirical_pmf(tiny):
    scn, _ = tiny
    sim = mf.forecast(scn, 12, method="simulate", paths=1000, seed=5, progress=False)
    ax = mf.plot.distribution(sim, "admissions", unit="A", window=(0, 3), target=2)
    pmf = sim.pmf("admissions", "A", window=(0, 3))
    assert {round(b.get_x() + b.get_width() / 2): b.get_height() for b in ax.patches} == pmf.to_dict()
    assert all(abs(p * 1000 - round(p * 1000)) < 1e-9 for p in pmf)  # frequencies over 1,000 paths
    (text,) = [t for t in ax.texts if t.get_gid() == "memberflow-probability"]
    assert float(text.get_text().rsplit("= ", 1)[1]) == pytest.approx(pmf[pmf.index >= 2].sum(), abs=5e-4)
    with pytest.raises(mf.InputError, match="not tracked"):
        mf.plot.distribution(sim, "admissions", unit="A", window=(0, 2))


def test_a_probability_below_what_the_engine_resolves_is_written_as_its_bound(district, tiny):
    """The example district's P(160) lies in the exact engine's dropped tail: the plot
    says "< 1e-12", as the command line does, not "0.000"; a simulation's floor is one
    path in ``paths``."""
    scn, ex = district
    assert ex.prob_at_least("admissions", 160, unit="D") < ex.tolerance
    (text,) = [t for t in mf.plot.distribution(ex, "admissions", unit="D").texts
               if t.get_gid() == "memberflow-probability"]
    assert text.get_text() == f"P(admissions >= 160) < {ex.tolerance:g}"
    sim = mf.forecast(tiny[0], 12, method="simulate", paths=1000, seed=5, progress=False)
    assert sim.prob_at_least("admissions", 40, unit="A") == 0
    (text,) = [t for t in mf.plot.distribution(sim, "admissions", unit="A", target=40).texts
               if t.get_gid() == "memberflow-probability"]
    assert text.get_text() == "P(admissions >= 40) < 0.001"


def test_distribution_over_a_window_against_a_given_target(district):
    scn, ex = district
    ax = mf.plot.distribution(ex, "admissions", unit="C13", window=(0, 6), target=3)
    (text,) = [t for t in ax.texts if t.get_gid() == "memberflow-probability"]
    pmf = ex.pmf("admissions", "C13", window=(0, 6))
    assert float(text.get_text().rsplit("= ", 1)[1]) == pytest.approx(pmf[pmf.index >= 3].sum(), abs=5e-4)
    # the district's 120 over the year: tiny (1.6e-05), written in scientific notation rather than 0.000
    ax = mf.plot.distribution(ex, "admissions", unit="D", target=120)
    (text,) = [t for t in ax.texts if t.get_gid() == "memberflow-probability"]
    p = ex.prob_at_least("admissions", 120, unit="D")
    assert 0 < p < 1e-3
    assert "e-0" in text.get_text()
    # the x range: every count with a visible bar and the target, not the pmf's far tails
    pmf = ex.pmf("admissions", "D")
    left, right = ax.get_xlim()
    visible = pmf.index[pmf.to_numpy() > 1e-5 * pmf.max()]
    assert left <= visible.min() - 0.45 and right >= max(visible.max(), 120) + 0.45
    assert left > pmf.index.min() + 10 and right < pmf.index.max() - 10
    assert float(text.get_text().rsplit("= ", 1)[1]) == pytest.approx(p, rel=0.05)


# -- the tree ------------------------------------------------------------------------------------------

def outline(path) -> np.ndarray:
    """The points of a path that lie on its outline: segment ends, not Bezier control points."""
    return np.array([vertices[-2:] for vertices, code in path.iter_segments(simplify=False, curves=True)
                     if code != path.CLOSEPOLY])


def wedge_span(path) -> float:
    """Angular width in degrees of a wedge path (less than a full turn)."""
    v = outline(path)
    angles = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    rel = (angles - angles[0] + 180) % 360 - 180
    return float(rel.max() - rel.min())


def wedge_middle(path) -> float:
    """The angle in degrees (counterclockwise from the x axis) halfway across a wedge path."""
    v = outline(path)
    angles = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    rel = (angles - angles[0] + 180) % 360 - 180
    return float(angles[0] + (rel.max() + rel.min()) / 2)


def test_tree_colours_every_unit_by_its_value_in_preorder(district, tmp_path):
    scn, ex = district
    org = scn.org
    p = ex.target_probabilities()["p_target"]
    ax = mf.plot.tree(org, p)
    (wedges,) = [c for c in ax.collections if isinstance(c, PatchCollection)]
    order = org.subtree(org.root)
    assert len(wedges.get_paths()) == len(org) == 267
    cmap, faces = matplotlib.colormaps["RdYlGn"], wedges.get_facecolors()
    grey = matplotlib.colors.to_rgba("#d9d9d9")
    for u, face in zip(order, faces):
        expected = cmap(float(p[u])) if u in p.index else grey  # probabilities: the scale is 0 to 1
        np.testing.assert_allclose(face, expected, atol=1e-12)
    # each wedge: the ring of its depth, its angle its share of the leaves
    frame = org.to_frame()
    children = frame.groupby("parent_id")["unit_id"].apply(list).to_dict()

    def leaves(u):
        return 1 if u not in children else sum(leaves(c) for c in children[u])

    total = leaves(org.root)
    for u, path in list(zip(order, wedges.get_paths()))[1:]:
        drawn = outline(path)
        radii = np.hypot(drawn[:, 0], drawn[:, 1])
        assert radii.min() == pytest.approx(org.depth(u), abs=1e-3)
        assert radii.max() == pytest.approx(org.depth(u) + 1, abs=1e-3)
        assert wedge_span(path) == pytest.approx(360 * leaves(u) / total, abs=1e-6)
    labels = {t.get_text() for t in ax.texts}
    assert {"D", "C01", "A04", "C01-01", "B31"} <= labels  # base organisations inside, leaves outside
    # every leaf's id just outside the outer ring (radius 3 here), in the middle of its wedge's angle,
    # the 31 cells without sub-cells too: at their own ring's edge (radius 2) the 1.4-degree arc a leaf
    # gets is shorter than the 4pt text is high and neighbours overlap
    placed = {t.get_text(): t.get_position() for t in ax.texts}
    middle = {u: wedge_middle(path) for u, path in zip(order, wedges.get_paths())}
    for u in [u for u in order if u not in children]:
        x, y = placed[u]
        assert np.hypot(x, y) == pytest.approx(3.05)
        assert (math.degrees(math.atan2(y, x)) - middle[u] + 180) % 360 - 180 == pytest.approx(0, abs=1e-6)
    render(ax.figure, tmp_path, "tree")


def test_tree_of_any_values_on_their_own_scale(district):
    scn, ex = district
    members = scn.stock_totals()["full"]
    values = scn.org.rollup(members)
    ax = mf.plot.tree(scn, values, label="members", labels="none")
    (wedges,) = [c for c in ax.collections if isinstance(c, PatchCollection)]
    cmap = matplotlib.colormaps["RdYlGn"]
    lo, hi = values.min(), values.max()
    for u, face in zip(scn.org.subtree(scn.org.root), wedges.get_facecolors()):
        np.testing.assert_allclose(face, cmap((values[u] - lo) / (hi - lo)), atol=1e-12)
    assert not ax.texts


# -- the funnel -----------------------------------------------------------------------------------------

def test_funnel_widths_are_the_people_per_stage_and_conversions_the_chances(district, tmp_path):
    scn, _ = district
    ax = mf.plot.funnel(scn, unit="C01", stages=["source", "training", "probation", "full"])
    subtree = scn.org.subtree("C01")
    stocks = scn.stocks[scn.stocks["unit_id"].isin(subtree)].groupby("stage")["count"].sum()
    widths = [b.get_width() for b in ax.patches]
    assert widths == [stocks.get(s, 0) for s in ["source", "training", "probation", "full"]]
    for b in ax.patches:  # centred
        assert b.get_x() == pytest.approx(-b.get_width() / 2)
    # P(reaching the next stage): a / (a + e) from a markov stage, (1 - exit)^12 x pass from probation,
    # each unit's from its parameters, weighted by the people in the stage
    advance, leave, passing = scn.param("advance"), scn.param("exit"), scn.param("pass_rate")
    own = scn.stock_totals().loc[subtree]
    chance = {"source": advance["source"] / (advance["source"] + leave["source"]),
              "training": advance["training"] / (advance["training"] + leave["training"]),
              "probation": (1 - leave["probation"]) ** 12 * passing["probation"]}
    for s in ["source", "training", "probation"]:
        (text,) = [t for t in ax.texts if t.get_gid() == f"memberflow-conversion-{s}"]
        weights = own[s] if own[s].sum() > 0 else None
        expected = np.average(chance[s].loc[subtree], weights=weights)
        assert text.get_text().endswith(f"{100 * expected:.0f}%")
    render(ax.figure, tmp_path, "funnel")


def test_funnel_conversion_weights_each_unit_by_its_people_in_the_stage():
    org = mf.Org.from_frame(pd.DataFrame({"unit_id": ["D", "A", "B"], "parent_id": [None, "D", "D"]}))
    pipe = mf.Pipeline([mf.stage.markov("training", advance=0.1, exit=0.1), mf.stage.terminal("full", attrition=0.0)],
                       admission="full")
    scn = mf.Scenario(org, pipe, stocks=pd.DataFrame({"unit_id": ["A", "B"], "stage": "training", "count": [30, 10]}),
                      params=pd.DataFrame({"scope": ["B"], "stage": ["training"], "param": ["advance"],
                                           "value": [0.5]}))
    ax = mf.plot.funnel(scn)
    (text,) = [t for t in ax.texts if t.get_gid() == "memberflow-conversion-training"]
    # A: 0.1 / 0.2 = 1/2 for 30 people, B: 0.5 / 0.6 = 5/6 for 10: 7/12 = 58% (not the units' plain mean, 67%)
    assert text.get_text().endswith(" 58%")
    assert [b.get_width() for b in ax.patches] == [40]


def test_funnel_of_a_pipeline_is_a_cohort_of_100():
    pipe = mf.Pipeline([mf.stage.markov("source", advance=0.08, exit=0.02),
                        mf.stage.markov("training", advance=0.1, exit=0.1),
                        mf.stage.terminal("full", attrition=0.0)], admission="training")
    ax = mf.plot.funnel(pipe)
    assert [b.get_width() for b in ax.patches] == pytest.approx([100, 80])
    texts = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
    assert texts["memberflow-conversion-source"].endswith("80%")
    assert texts["memberflow-conversion-training"].endswith("50%")
    assert ax.get_title() == "of 100 entering source (the pipeline's defaults); \u2192 conversion to the next stage"


# -- the backtest ---------------------------------------------------------------------------------------

def test_backtest_panels_are_the_errors_and_coverage_by_depth(tmp_path):
    h = mf.datasets.example_history()
    log = mf.EventLog.from_frame(h.events, h.start)
    frame = mf.backtest(log, ["2019-01", "2020-01"], draws=20)
    figure = mf.plot.backtest(frame)
    crps_axes, coverage_axes = figure.axes
    mean_crps = frame.groupby(["depth", "method"], observed=True)["crps"].mean().unstack()
    best_baseline = mean_crps[["last_year", "mean_3y", "conversion"]].min(axis=1)
    for method in ["memberflow", "last_year", "mean_3y", "conversion"]:
        bars = [b for b in crps_axes.patches if b.get_gid() == f"memberflow-crps-ratio-{method}"]
        np.testing.assert_allclose([b.get_height() for b in bars], mean_crps[method] / best_baseline, rtol=1e-12)
        for level in (90, 50):
            gid = f"memberflow-coverage-{level}-{method}"
            (points,) = [ln for ln in coverage_axes.get_lines() if ln.get_gid() == gid]
            inside = frame[frame["method"] == method].groupby("depth")[f"in_{level}"].mean()
            np.testing.assert_allclose(points.get_ydata(), inside.to_numpy(), rtol=1e-12)
    render(figure, tmp_path, "backtest")
    left, right = plt.subplots(1, 2)[1]
    assert mf.plot.backtest(frame, ax=[left, right]) is left.figure


# -- progress ---------------------------------------------------------------------------------------------

def test_progress_bars_are_the_admissions_so_far_coloured_by_status(tmp_path):
    year = mf.datasets.example_year("2021-06")
    state = mf.progress(year.scenario, year.log, through="2021Q2")
    ax = mf.plot.progress(state)
    units = state.units[state.units["depth"] == 1]
    bars = [b for b in ax.patches if b.get_gid() == "memberflow-admitted"] or list(ax.containers[0])
    assert [b.get_width() for b in bars] == units["admitted"].tolist()
    colours = {s: matplotlib.colors.to_rgba(mf.plot.STATUS_COLOURS[s]) for s in STATUSES}
    assert [tuple(b.get_facecolor()) for b in bars] == [colours[s] for s in units["status"]]
    # own count of admissions (entries into probation) in 2021-01..06 for one unit's subtree, from the events
    subtree = year.scenario.org.subtree("C13")
    ev = year.events
    done = ((ev["event"] == "probation") & ev["unit_id"].isin(subtree) & (ev["date"] >= "2021-01")).sum()
    assert bars[list(units["unit_id"]).index("C13")].get_width() == done
    # a unit with nothing admitted has no bar to colour: its status is the square beside its id
    assert ((units["admitted"] == 0) & units["status"].isin(["at risk", "behind"])).any()
    (squares,) = [c for c in ax.collections if c.get_gid() == "memberflow-status"]
    assert [tuple(c) for c in squares.get_facecolors()] == [colours[s] for s in units["status"]]
    np.testing.assert_allclose(squares.get_offsets()[:, 1], [b.get_y() + b.get_height() / 2 for b in bars], atol=1e-12)
    (ticks,) = [ln for ln in ax.get_lines() if ln.get_gid() == "memberflow-pro-rata"]
    np.testing.assert_allclose(ticks.get_xdata(), (year.scenario.targets.reindex(units["unit_id"]) * 6 / 12).to_numpy())
    (interval,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segments = interval.get_segments()
    assert [s[0][0] for s in segments] == units["so_far_lo"].tolist()
    assert [s[1][0] for s in segments] == units["so_far_hi"].tolist()
    render(ax.figure, tmp_path, "progress")
    ax = mf.plot.progress(state, units=["D", "C01"])
    assert [b.get_width() for b in ax.patches if b.get_gid() == "memberflow-admitted"] == \
        state.units.set_index("unit_id").loc[["D", "C01"], "admitted"].tolist()


# -- bad input ------------------------------------------------------------------------------------------------

def test_bad_input_is_refused_naming_it(district, tiny):
    scn, ex = district
    with pytest.raises(mf.UnknownIdError, match="unknown unit 'X9'"):
        mf.plot.fan(ex, "admissions", unit="X9")
    with pytest.raises(mf.UnknownIdError, match="unknown quantity 'admission'"):
        mf.plot.fan(ex, "admission")
    with pytest.raises(mf.UnknownIdError, match="unknown quantity 'members'"):
        mf.plot.distribution(ex, "members")
    with pytest.raises(mf.InputError, match="expected a forecast .* got Scenario"):
        mf.plot.fan(scn)
    with pytest.raises(mf.InputError, match="method='exact' or 'simulate'.*'expected'"):
        mf.plot.distribution(mf.forecast(scn, 12))
    with pytest.raises(mf.UnknownIdError, match="unknown unit 'X9'"):
        mf.plot.distribution(ex, unit="X9")
    with pytest.raises(mf.UnknownIdError, match=r"unknown unit\(s\) \['X9'\]"):
        mf.plot.tree(scn, pd.Series({"D": 0.5, "X9": 0.1}))
    with pytest.raises(mf.InputError, match="value of unit 'D' is not a number"):
        mf.plot.tree(scn, pd.Series({"D": "high"}))
    with pytest.raises(mf.InputError, match="expected a memberflow.Org .* got DataFrame"):
        mf.plot.tree(scn.org.to_frame())
    with pytest.raises(mf.UnknownIdError, match="unknown stage 'nurture'"):
        mf.plot.funnel(scn, stages=["source", "nurture"])
    with pytest.raises(mf.UnknownIdError, match="unknown unit 'X9'"):
        mf.plot.funnel(scn, unit="X9")
    with pytest.raises(mf.InputError, match="expected a memberflow.Scenario, forecast or Pipeline, got str"):
        mf.plot.funnel("scenario")
    with pytest.raises(mf.InputError, match="expected the frame of mf.backtest"):
        mf.plot.backtest(pd.DataFrame({"a": [1]}))
    with pytest.raises(mf.InputError, match="expected the result of mf.progress"):
        mf.plot.progress(ex)
    with pytest.raises(mf.InputError, match="history must be .* got list"):
        mf.plot.fan(ex, history=[1, 2])
    with pytest.raises(mf.InputError, match="actuals of 'exits' are not read from records"):
        tiny_scn, tiny_ex = tiny
        mf.plot.fan(tiny_ex, "exits", history=mf.EventLog.from_frame(events(admitted=ADMITTED), tiny_scn))


def test_without_matplotlib_the_package_imports_and_a_plot_names_the_extra(district, monkeypatch):
    code = ("import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
            "import memberflow as mf\n"
            "fc = mf.forecast(mf.datasets.example_district(), 12, method='exact')\n"
            "try:\n    mf.plot.fan(fc)\nexcept ImportError as e:\n    print(e)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "pip install memberflow[plot]" in out.stdout
