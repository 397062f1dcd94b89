"""memberflow.forecast(method="exact"): the distribution accessors (pmf, P(count >= k),
quantiles, intervals, target table, summary, tidy frame), their refusals, the means
against the expected-value forecast, a Monte Carlo written here with a chi-square test,
and ``memberflow forecast --method exact``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from builders import scenario_of
from model_reference import Model

import memberflow as mf
from memberflow.cli import main

EVENTS = ("admissions", "confirmations", "arrivals", "exits", "leavers")
SHORT_STAGES = [("source", "markov", 1), ("training", "markov", 1), ("probation", "fixed", 3), ("full", "terminal", 1)]


@pytest.fixture(scope="module")
def district_exact() -> mf.ExactForecast:
    return mf.forecast(mf.datasets.example_district(), 12, method="exact")


def tree(parents: dict[str, str | None]) -> mf.Org:
    return mf.Org.from_frame(pd.DataFrame({"unit_id": list(parents), "parent_id": list(parents.values())}))


def random_model(rng: np.random.Generator, units: list[str], stages, admission: int) -> Model:
    model = Model(stages=stages, admission=admission, units=units)
    for u in units:
        adv, ex, pr = {}, {}, {}
        for s, (_, kind, _) in enumerate(stages):
            if kind == "markov":
                adv[s] = float(rng.uniform(0.05, 0.6))
                ex[s] = float(rng.uniform(0, 0.2))
            elif kind == "fixed":
                ex[s] = float(rng.uniform(0, 0.1))
                pr[s] = float(rng.uniform(0.5, 1))
        model.params[u] = {"advance": adv, "exit": ex, "pass_rate": pr, "attrition": float(rng.uniform(0, 0.05)),
                           "inflow": float(rng.uniform(0, 2)), "transfer_in": float(rng.uniform(0, 0.5))}
        model.stocks[u] = {slot: int(rng.integers(0, 8)) for slot in model.slots() if rng.random() < 0.7}
    return model


# -- references written here -----------------------------------------------------------------------------


def quantile_from_pmf(pmf: pd.Series, q: float) -> int:
    """The smallest k with P(count <= k) >= q, from one node's pmf alone (the same 1e-15
    relative allowance for rounding as the library's definition)."""
    cdf = np.cumsum(pmf.to_numpy())
    hit = np.nonzero(cdf >= q * (1 - 1e-15))[0]
    return int(pmf.index[hit[0]] if len(hit) else pmf.index[-1])


def normal_upper_quantile(alpha: float) -> float:
    """z with P(Z > z) = alpha, by bisection on erfc."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(mid / math.sqrt(2)) > alpha:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def chi_square_upper_quantile(df: int, alpha: float) -> float:
    """Wilson-Hilferty: (X / df)^(1/3) is nearly normal, mean 1 - 2/(9 df), variance 2/(9 df)."""
    v = 2 / (9 * df)
    return df * (1 - v + normal_upper_quantile(alpha) * math.sqrt(v)) ** 3


def chi_square(pmf: pd.Series, samples: np.ndarray) -> tuple[float, int]:
    """Pearson's statistic of the samples against the pmf, adjacent values merged into
    bins of expected count >= 5; the first and last bins are open-ended."""
    n = len(samples)
    uppers, expected, acc = [], [], 0.0
    for k, p in pmf.items():
        acc += n * p
        if acc >= 5:
            uppers.append(k)
            expected.append(acc)
            acc = 0.0
    expected[-1] += acc
    uppers[-1] = np.iinfo(np.int64).max
    observed = np.bincount(np.searchsorted(np.asarray(uppers), samples, side="left"), minlength=len(expected))
    expected = np.asarray(expected)
    return float(((observed - expected) ** 2 / expected).sum()), len(expected) - 1


def test_reference_chi_square_quantiles():
    # Table values of the 0.999 quantile: 29.588 (df 10), 45.315 (df 20), 59.703 (df 30).
    assert normal_upper_quantile(0.001) == pytest.approx(3.090232, rel=1e-6)
    assert chi_square_upper_quantile(10, 0.001) == pytest.approx(29.588, rel=0.01)
    assert chi_square_upper_quantile(20, 0.001) == pytest.approx(45.315, rel=0.005)
    assert chi_square_upper_quantile(30, 0.001) == pytest.approx(59.703, rel=0.005)


# -- the accessors -------------------------------------------------------------------------------------


def test_forecast_exact_is_an_exact_forecast(district_exact):
    fc = district_exact
    assert isinstance(fc, mf.ExactForecast)
    assert isinstance(fc, mf.Forecast)
    assert fc.method == "exact"
    assert fc.tolerance == 1e-12
    d = fc.distribution("admissions")
    assert isinstance(d, mf.Distributions)
    assert d.quantity == "admissions"
    assert d.label == "months 0-11"
    assert fc.distribution("full").label == "month 12"
    assert fc.distribution("full", month=3).label == "month 3"
    assert fc.distribution("exits", window=(2, 5)).label == "months 2-4"


def test_pmf_is_a_series_by_k_summing_to_one(district_exact):
    fc = district_exact
    for quantity, kw in [("admissions", {}), ("confirmations", {"window": (0, 3)}), ("probation", {"month": 6}),
                         ("full", {})]:
        d = fc.distribution(quantity, **kw)
        for u in ["D", "C01", "B05", fc.org.ids[-1]]:
            p = fc.pmf(quantity, u, **kw)
            assert p.name == "probability"
            assert p.index.name == "k"
            assert p.index.dtype.kind == "i"
            assert (np.diff(p.index) == 1).all()
            assert (p >= 0).all()
            assert abs(p.sum() - 1) <= 1e-12
            assert abs(p.sum() + d.tail[u] - 1) <= 1e-12
            assert d.tail[u] <= 1e-12
            pd.testing.assert_series_equal(p, d.pmf(u))
            assert d.total_mass()[u] == pytest.approx(p.sum(), abs=1e-15)
            assert d.mean()[u] == pytest.approx((p.index * p).sum() / p.sum(), rel=1e-12)
            var = ((p.index - d.mean()[u]) ** 2 * p).sum() / p.sum()
            assert d.var()[u] == pytest.approx(var, rel=1e-9, abs=1e-15)
            assert d.std()[u] == pytest.approx(math.sqrt(var), rel=1e-9, abs=1e-15)


def test_prob_at_least_scalar_series_and_by_unit(district_exact):
    fc = district_exact
    d = fc.distribution("admissions", window=(0, 12))
    for u in ["D", "C03", "B01"]:
        p = d.pmf(u)
        for k in [p.index[0] - 3, p.index[0], int(p.idxmax()), p.index[-1], p.index[-1] + 1]:
            expected = p[p.index >= k].sum()
            got = fc.prob_at_least("admissions", k, unit=u, window=(0, 12))
            assert isinstance(got, float)
            assert got == pytest.approx(min(expected, 1.0), abs=1e-15)
        # a non-integer k counts as ceil(k)
        k = int(p.idxmax())
        assert fc.prob_at_least("admissions", k - 0.5, unit=u, window=(0, 12)) == \
            fc.prob_at_least("admissions", k, unit=u, window=(0, 12))
    every = fc.prob_at_least("admissions", 3, window=(0, 12))
    assert isinstance(every, pd.Series)
    assert list(every.index) == list(fc.org.ids)
    assert every["C03"] == pytest.approx(d.pmf("C03")[d.pmf("C03").index >= 3].sum(), abs=1e-15)
    # a threshold per unit: nodes it does not name get NaN
    by_unit = d.prob_at_least({"D": 90, "C01": 2})
    assert by_unit["D"] == pytest.approx(fc.prob_at_least("admissions", 90, unit="D", window=(0, 12)), abs=1e-15)
    assert by_unit["C01"] == pytest.approx(fc.prob_at_least("admissions", 2, unit="C01", window=(0, 12)), abs=1e-15)
    assert by_unit.drop(["D", "C01"]).isna().all()
    # P(count >= k) falls with k, from 1 to 0
    ks = np.arange(50, 131)
    curve = np.array([fc.prob_at_least("admissions", k, unit="D", window=(0, 12)) for k in ks])
    assert (np.diff(curve) <= 0).all()
    assert curve[0] > 0.999999 and curve[-1] < 1e-6


def test_quantiles_and_intervals_agree_with_each_nodes_pmf():
    rng = np.random.default_rng(7)
    parents = {"R": None, "A": "R", "B": "R", "A1": "A", "A2": "A", "B1": "B", "B2": "B", "B3": "B"}
    model = random_model(rng, list(parents), SHORT_STAGES, 2)
    fc = mf.forecast(scenario_of(model, tree(parents)), 12, method="exact")
    for quantity, kw in [("admissions", {}), ("exits", {"window": (3, 9)}), ("full", {"month": 12}),
                         ("probation", {"month": 5}), ("arrivals", {"window": (0, 1)})]:
        d = fc.distribution(quantity, **kw)
        pmfs = {u: d.pmf(u) for u in fc.org.ids}
        for q in [0.0, 1e-9, 0.05, 0.25, 0.5, 0.75, 0.95, 1 - 1e-9, 1.0]:
            got = fc.quantile(quantity, q, **kw)
            assert list(got.index) == list(fc.org.ids)
            for u, p in pmfs.items():
                assert got[u] == quantile_from_pmf(p, q), (quantity, kw, q, u)
        # q at each node's own cdf values: where rounding decides, each node on its own
        for u, p in pmfs.items():
            for q in np.cumsum(p.to_numpy())[:-1]:
                assert d.quantile(q)[u] == quantile_from_pmf(p, q), (quantity, u, q)
        for level in (50, 80, 90, 99, 99.5):
            iv = fc.interval(quantity, level, **kw)
            name = f"{level:g}"
            assert list(iv.columns) == [f"lo-{name}", f"hi-{name}"]
            a = (1 - level / 100) / 2
            for u, p in pmfs.items():
                assert iv.loc[u, f"lo-{name}"] == quantile_from_pmf(p, a)
                assert iv.loc[u, f"hi-{name}"] == quantile_from_pmf(p, 1 - a)
                inside = p[(p.index >= iv.loc[u, f"lo-{name}"]) & (p.index <= iv.loc[u, f"hi-{name}"])].sum()
                assert inside >= level / 100 - 1e-12
        # several levels at once: statsforecast's columns, lowest bound first
        both = fc.interval(quantity, [90, 80], **kw)
        assert list(both.columns) == ["lo-90", "lo-80", "hi-80", "hi-90"]
        pd.testing.assert_frame_equal(both[["lo-80", "hi-80"]], fc.interval(quantity, 80, **kw))
        pd.testing.assert_frame_equal(both[["lo-90", "hi-90"]], fc.interval(quantity, 90, **kw))


def test_target_probabilities_are_prob_at_least_the_ceiling_of_the_target():
    rng = np.random.default_rng(11)
    parents = {"R": None, "A": "R", "B": "R", "A1": "A", "B1": "B"}
    model = random_model(rng, list(parents), SHORT_STAGES, 2)
    targets = {"R": 9.5, "A": 4, "B1": 0.2}
    fc = mf.forecast(scenario_of(model, tree(parents), targets=targets), 14, method="exact")
    table = fc.target_probabilities()
    assert list(table.columns) == ["name", "target", "target_window", "mean", "lo-90", "hi-90", "p_target"]
    assert (table["target_window"] == table["target"]).all()  # a 12-month window: the whole yearly target
    assert sorted(table.index) == sorted(targets)
    d = fc.distribution("admissions", window=(0, 12))  # the first 12 months by default
    for u, t in targets.items():
        assert table.loc[u, "target"] == t
        assert table.loc[u, "p_target"] == fc.prob_at_least("admissions", math.ceil(t), unit=u, window=(0, 12))
        p = d.pmf(u)
        assert table.loc[u, "p_target"] == pytest.approx(p[p.index >= math.ceil(t)].sum(), abs=1e-15)
        assert table.loc[u, "mean"] == pytest.approx(fc.mean("admissions", window=(0, 12))[u], rel=1e-9)
        assert table.loc[u, "lo-90"] == quantile_from_pmf(p, 0.05)
        assert table.loc[u, "hi-90"] == quantile_from_pmf(p, 0.95)
    # another window
    other = fc.target_probabilities(window=(2, 14))
    assert other.loc["A", "p_target"] == fc.prob_at_least("admissions", 4, unit="A", window=(2, 14))
    # a shorter window holds each node to its pro-rata share of the yearly target
    half = fc.target_probabilities(window=(0, 6), level=[50, 80])
    assert list(half.columns) == ["name", "target", "target_window", "mean", "lo-80", "lo-50", "hi-50", "hi-80",
                                  "p_target"]
    for u, t in targets.items():
        assert half.loc[u, "target_window"] == t * 6 / 12
        assert half.loc[u, "p_target"] == fc.prob_at_least("admissions", math.ceil(t / 2), unit=u, window=(0, 6))


def test_summary_columns(district_exact):
    fc = district_exact
    table = fc.summary()
    plain = mf.forecast(fc.scenario, 12).summary()
    assert list(table.columns) == list(plain.columns) + ["admissions-lo-90", "admissions-hi-90", "p_target"]
    iv = fc.interval("admissions", 90, window=(0, 12))
    assert (table["admissions-lo-90"] == iv["lo-90"]).all()
    assert (table["admissions-hi-90"] == iv["hi-90"]).all()
    assert list(fc.summary(level=[80, 95]).columns)[-5:] == ["admissions-lo-95", "admissions-lo-80",
                                                             "admissions-hi-80", "admissions-hi-95", "p_target"]
    targets = fc.scenario.targets
    p = fc.prob_at_least("admissions", targets, window=(0, 12))
    pd.testing.assert_series_equal(table["p_target"], p, check_names=False)
    assert table["p_target"].notna().sum() == len(targets)
    d_summary = fc.distribution("admissions", window=(0, 12)).summary()
    assert list(d_summary.columns) == ["mean", "sd", "q50", "lo-90", "hi-90", "tail"]
    assert (d_summary["tail"] <= 1e-12).all()
    np.testing.assert_allclose(d_summary["mean"], table["admissions"], rtol=1e-9)


def test_to_frame_is_tidy(district_exact):
    fc = district_exact
    d = fc.distribution("admissions", window=(0, 12))
    frame = d.to_frame()
    # the example district starts in January 2021: ds is the first day of the window
    assert list(frame.columns) == ["unit_id", "window", "ds", "quantity", "k", "probability"]
    assert (frame["window"] == "months 0-11").all()
    assert (frame["ds"] == pd.Timestamp("2021-01-01")).all()
    assert (fc.distribution("admissions", window=(4, 7)).to_frame()["ds"] == pd.Timestamp("2021-05-01")).all()
    assert (fc.distribution("full", month=12).to_frame()["ds"] == pd.Timestamp("2022-01-01")).all()
    assert (frame["quantity"] == "admissions").all()
    assert set(frame["unit_id"]) == set(fc.org.ids)
    sums = frame.groupby("unit_id")["probability"].sum()
    assert (abs(sums - 1) <= 1e-12).all()
    for u in ["D", "C07"]:
        part = frame[frame["unit_id"] == u]
        p = d.pmf(u)
        assert list(part["k"]) == list(p.index)
        np.testing.assert_array_equal(part["probability"].to_numpy(), p.to_numpy())
    some = d.to_frame(units=["C01", "B02"])
    assert sorted(set(some["unit_id"])) == ["B02", "C01"]
    assert list(some.index) == list(range(len(some)))
    stock = fc.distribution("full", month=6).to_frame(units=["D"])
    assert (stock["window"] == "month 6").all()
    assert (stock["quantity"] == "full").all()
    assert abs(stock["probability"].sum() - 1) <= 1e-12


def test_to_frame_without_a_calendar_has_no_ds():
    scn = mf.datasets.example_district()
    scn.start = None
    fc = mf.forecast(scn, 6, method="exact")
    assert list(fc.distribution("admissions").to_frame().columns) == ["unit_id", "window", "quantity", "k",
                                                                      "probability"]


def test_refusals(district_exact):
    fc = district_exact
    with pytest.raises(mf.InputError, match="stock"):
        fc.distribution("full", window=(0, 3))
    with pytest.raises(mf.InputError, match="event"):
        fc.distribution("admissions", month=3)
    with pytest.raises(mf.InputError, match="event"):
        fc.pmf("admissions", "D", month=3)
    for q in (-0.1, 1.5, float("nan")):
        with pytest.raises(mf.InputError, match="quantile"):
            fc.quantile("admissions", q)
    for level in (0, 100, 120, -5, float("nan"), True, "90", None, [], [90, 0.8]):
        with pytest.raises(mf.InputError, match="level"):
            fc.interval("admissions", level)
    # a fraction is refused, not read as a percentage, with the percentage it may mean
    for level, meant in [(0.9, "level=90"), (0.95, "level=95"), (0.5, "level=50")]:
        with pytest.raises(mf.InputError, match=f"level is in percent: .*give {meant}, not {level:g}"):
            fc.interval("admissions", level)
    with pytest.raises(mf.InputError, match="give level=90"):
        fc.summary(level=0.9)
    with pytest.raises(mf.InputError, match="give level=80"):
        fc.target_probabilities(level=[0.8])
    with pytest.raises(mf.UnknownIdError, match="nowhere"):
        fc.pmf("admissions", "nowhere")
    with pytest.raises(mf.UnknownIdError, match="nowhere"):
        fc.prob_at_least("admissions", 3, unit="nowhere")
    with pytest.raises(mf.UnknownIdError, match="admission"):
        fc.distribution("admission")
    for window in [(0, 13), (5, 5), (-1, 3)]:
        with pytest.raises(mf.InputError, match="window"):
            fc.distribution("admissions", window=window)
    with pytest.raises(mf.InputError, match="month"):
        fc.distribution("full", month=13)
    for tolerance in (0.0, 1.0, -1e-3, float("nan")):
        with pytest.raises(mf.InputError, match="tolerance"):
            mf.forecast(fc.scenario, 12, method="exact", tolerance=tolerance)


def test_looser_tolerance_narrows_supports(district_exact):
    loose = mf.forecast(district_exact.scenario, 12, method="exact", tolerance=1e-6)
    assert loose.tolerance == 1e-6
    tight, wide = district_exact.distribution("admissions"), loose.distribution("admissions")
    assert (wide.tail <= 1e-6).all()
    assert (tight.tail <= 1e-12).all()
    assert len(wide.to_frame()) < len(tight.to_frame())
    for u in ["D", "C01"]:
        a, b = tight.pmf(u), wide.pmf(u)
        assert b.index[0] >= a.index[0] and b.index[-1] <= a.index[-1]
        assert b.index[-1] - b.index[0] < a.index[-1] - a.index[0]
        np.testing.assert_allclose(b.to_numpy(), a.reindex(b.index).to_numpy(), rtol=0, atol=1e-6)


# -- means against the expected-value forecast ------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_means_equal_the_expected_forecast(seed):
    rng = np.random.default_rng(300 + seed)
    n = [1, 5, 14][seed]
    parents = {"u0": None}
    for i in range(1, n):
        parents[f"u{i}"] = f"u{int(rng.integers(0, i))}"
    model = random_model(rng, list(parents), SHORT_STAGES, 2)
    horizon = 15
    fc = mf.forecast(scenario_of(model, tree(parents)), horizon, method="exact")
    for event in EVENTS:
        for window in [(0, horizon), (0, 12), (0, 1), (4, 9), (horizon - 1, horizon)]:
            d = fc.distribution(event, window=window)
            np.testing.assert_allclose(d.mean(), fc.mean(event, window=window), rtol=1e-9, atol=0,
                                       err_msg=f"{event} {window}")
            assert (d.tail <= 1e-12).all()
            assert (abs(d.total_mass() - 1) <= 1e-12).all()
    for st in fc.scenario.pipeline.stages:
        for month in [0, 1, 7, horizon]:
            d = fc.distribution(st, month=month)
            np.testing.assert_allclose(d.mean(), fc.mean(st, month=month), rtol=1e-9, atol=0,
                                       err_msg=f"{st} {month}")
            assert (abs(d.total_mass() - 1) <= 1e-12).all()


def test_means_equal_the_expected_forecast_example_district(district_exact):
    fc = district_exact
    for event in EVENTS:
        np.testing.assert_allclose(fc.distribution(event).mean(), fc.mean(event), rtol=1e-9, atol=0)
    for st in fc.scenario.pipeline.stages:
        np.testing.assert_allclose(fc.distribution(st, month=12).mean(), fc.mean(st, month=12), rtol=1e-9, atol=0)


# -- a Monte Carlo written here ---------------------------------------------------------------------------


def simulate_counts(model: Model, parents: dict[str, str | None], horizon: int, paths: int,
                    rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per path: admissions over months 0..horizon-1 at every node, and the probation
    stock at month `horizon` at every node. The state is a count per (path, unit, slot);
    each month the people of a slot split by the spec's probabilities (a multinomial
    drawn as successive binomials), and arrivals are Poisson, landing next month."""
    units = model.units
    n_units, D = len(units), model.stages[2][2]
    src, trn, prob0, full = 0, 1, 2, 2 + D  # slots
    state = np.zeros((paths, n_units, full + 1), dtype=np.int64)
    par = model.params
    vec = lambda f: np.array([f(par[u]) for u in units])  # noqa: E731
    a0, e0 = vec(lambda p: p["advance"][0]), vec(lambda p: p["exit"][0])
    a1, e1 = vec(lambda p: p["advance"][1]), vec(lambda p: p["exit"][1])
    ep, pp = vec(lambda p: p["exit"][2]), vec(lambda p: p["pass_rate"][2])
    att, inflow, transfer = vec(lambda p: p["attrition"]), vec(lambda p: p["inflow"]), vec(lambda p: p["transfer_in"])
    for i, u in enumerate(units):
        for (s, age), c in model.stocks[u].items():
            state[:, i, s + age if s == 2 else (full if s == 3 else s)] = c
    admissions = np.zeros((paths, n_units), dtype=np.int64)

    def split(n, advance, exit_):
        moved = rng.binomial(n, advance)
        left = rng.binomial(n - moved, np.where(advance < 1, exit_ / np.maximum(1 - advance, 1e-300), 0.0))
        return moved, left, n - moved - left

    for _ in range(horizon):
        nxt = np.zeros_like(state)
        to_training, _, stay = split(state[:, :, src], a0, e0)
        nxt[:, :, src] = stay
        to_probation, _, stay = split(state[:, :, trn], a1, e1)
        nxt[:, :, trn] = stay + to_training
        admissions += to_probation
        survivors = state[:, :, prob0:prob0 + D] - rng.binomial(state[:, :, prob0:prob0 + D], ep[None, :, None])
        nxt[:, :, prob0] = to_probation
        nxt[:, :, prob0 + 1:prob0 + D] = survivors[:, :, :D - 1]
        passed = rng.binomial(survivors[:, :, D - 1], pp)
        nxt[:, :, full] = state[:, :, full] - rng.binomial(state[:, :, full], att) + passed
        nxt[:, :, src] += rng.poisson(inflow, size=(paths, n_units))
        nxt[:, :, full] += rng.poisson(transfer, size=(paths, n_units))
        state = nxt
    probation = state[:, :, prob0:prob0 + D].sum(axis=2)
    # subtree totals
    member = np.array([[_in_subtree(parents, node, v) for v in units] for node in units], dtype=np.int64)
    return {"admissions": admissions @ member.T, "probation": probation @ member.T}


def _in_subtree(parents, node, v) -> bool:
    while v is not None:
        if v == node:
            return True
        v = parents[v]
    return False


def test_monte_carlo_chi_square():
    rng = np.random.default_rng(20210201)
    parents = {"R": None, "A": "R", "B": "R", "A1": "A", "A2": "A", "B1": "B"}
    model = Model(stages=SHORT_STAGES, admission=2, units=list(parents))
    for u in parents:
        model.params[u] = {"advance": {0: float(rng.uniform(0.1, 0.3)), 1: float(rng.uniform(0.1, 0.4))},
                           "exit": {0: float(rng.uniform(0, 0.05)), 1: float(rng.uniform(0, 0.05)),
                                    2: float(rng.uniform(0, 0.05))},
                           "pass_rate": {2: float(rng.uniform(0.8, 1))}, "attrition": float(rng.uniform(0, 0.03)),
                           "inflow": float(rng.uniform(0.5, 2)), "transfer_in": float(rng.uniform(0, 0.3))}
        model.stocks[u] = {(0, 0): int(rng.integers(5, 25)), (1, 0): int(rng.integers(2, 10)),
                           (2, 0): int(rng.integers(0, 3)), (2, 2): int(rng.integers(0, 3)),
                           (3, 0): int(rng.integers(10, 30))}
    horizon, paths = 12, 20000
    fc = mf.forecast(scenario_of(model, tree(parents)), horizon, method="exact")
    sim = simulate_counts(model, parents, horizon, paths, np.random.default_rng(99))
    cases = [("admissions", "R", sim["admissions"][:, 0], fc.pmf("admissions", "R")),
             ("admissions", "A", sim["admissions"][:, 1], fc.pmf("admissions", "A")),
             ("admissions", "B1", sim["admissions"][:, 5], fc.pmf("admissions", "B1")),
             ("probation", "R", sim["probation"][:, 0], fc.pmf("probation", "R", month=horizon))]
    for quantity, unit, samples, pmf in cases:
        stat, df = chi_square(pmf, samples)
        threshold = chi_square_upper_quantile(df, 0.001)
        assert df >= 5, (quantity, unit, df)
        assert stat < threshold, (quantity, unit, stat, df, threshold)


# -- the command line --------------------------------------------------------------------------------------


def test_cli_forecast_method_exact(capsys, district_exact):
    assert main(["forecast", "--method", "exact"]) == 0
    out = capsys.readouterr().out
    fc = district_exact
    assert "Exact distribution of admissions over 2021-01 to 2021-12" in out  # the example starts in January 2021
    iv = fc.interval("admissions", 90, window=(0, 12))
    assert f"D: 90% central interval [{iv.loc['D', 'lo-90']}, {iv.loc['D', 'hi-90']}]" in out
    p = fc.prob_at_least("admissions", 160, unit="D", window=(0, 12))
    assert p <= 1e-12  # 160 is ten standard deviations above the mean
    assert "P(reaching the target of 160) = < 1e-12" in out
    assert "least likely to meet their own targets" in out
    table = fc.target_probabilities()
    at_risk = table[[fc.org.depth(u) == 1 for u in table.index]].sort_values("p_target")
    listed = [line.split()[0] for line in out.split("least likely to meet their own targets:")[1].splitlines()[2:]]
    assert len(listed) == min(10, len(at_risk))
    # the at-risk list: the lowest probabilities of meeting the target, in increasing order
    shown = at_risk.loc[listed, "p_target"].to_numpy()
    assert (np.diff(shown) >= 0).all()
    assert shown.max() <= at_risk.drop(index=listed)["p_target"].min()


def test_to_long_is_the_statsforecast_shape(district_exact):
    fc = district_exact
    long = fc.to_long("admissions", level=[80, 90])
    assert list(long.columns) == ["unique_id", "ds", "admissions", "admissions-lo-90", "admissions-lo-80",
                                  "admissions-hi-80", "admissions-hi-90"]
    assert len(long) == len(fc.org) * fc.horizon
    tidy = fc.to_frame(["admissions"])
    assert (long["unique_id"] == tidy["unit_id"]).all() and (long["ds"] == tidy["ds"]).all()
    np.testing.assert_array_equal(long["admissions"].to_numpy(), tidy["value"].to_numpy())
    by_month = long.set_index(["unique_id", "ds"])
    for m in (0, 5, 11):
        iv = fc.interval("admissions", [80, 90], window=(m, m + 1))
        ds = pd.Timestamp(f"2021-{m + 1:02d}-01")
        for u in ("D", "C07", "B02"):
            assert by_month.loc[(u, ds), "admissions-lo-90"] == iv.loc[u, "lo-90"]
            assert by_month.loc[(u, ds), "admissions-hi-80"] == iv.loc[u, "hi-80"]
    stock = fc.to_long("full", level=90)
    assert len(stock) == len(fc.org) * (fc.horizon + 1)  # a stock at the start of months 0..horizon
    assert stock.iloc[-1]["full-hi-90"] == fc.interval("full", 90, month=12).iloc[-1]["hi-90"]
    plain = mf.forecast(fc.scenario, 3)
    assert list(plain.to_long().columns) == ["unique_id", "ds", "admissions"]
    with pytest.raises(mf.InputError, match="intervals need method='exact' or 'simulate'"):
        plain.to_long(level=90)
    scn = mf.datasets.example_district()
    scn.start = None
    assert mf.forecast(scn, 3).to_long()["ds"].tolist()[:3] == [0, 1, 2]  # no calendar: month numbers
