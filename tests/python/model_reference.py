"""Independent references for the pipeline model (shared/spec/pipeline-model.md).

- ``expected_reference``: exact expected values by a per-unit transition matrix over the
  state slots (E[x(t+1)] = E[x(t)] M + arrivals), written from the spec.
- ``simulate``: a Monte Carlo that follows individual people month by month.

Neither calls memberflow; a model is described here by plain Python values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

EVENTS = ("admissions", "confirmations", "arrivals", "exits", "leavers")


@dataclass
class Model:
    """A chain of stages: (name, kind, months) with kind markov/fixed/terminal (last)."""
    stages: list[tuple[str, str, int]]
    admission: int  # index of the admission stage
    units: list[str]
    # per unit: {"advance": {stage index: p}, "exit": {...}, "pass_rate": {...},
    #            "attrition": p, "inflow": rate, "transfer_in": rate}
    params: dict[str, dict] = field(default_factory=dict)
    # per unit: {(stage index, age): count}
    stocks: dict[str, dict[tuple[int, int], int]] = field(default_factory=dict)

    @property
    def terminal(self) -> int:
        return len(self.stages) - 1

    def slots(self) -> list[tuple[int, int]]:
        return [(s, a) for s, (_, kind, months) in enumerate(self.stages)
                for a in range(months if kind == "fixed" else 1)]

    def params_frame(self) -> pd.DataFrame:
        """Every parameter of every unit as a unit-scope override row."""
        rows = []
        for u in self.units:
            p = self.params[u]
            for s, (name, kind, _) in enumerate(self.stages):
                if kind == "markov":
                    rows += [[u, name, "advance", p["advance"][s]], [u, name, "exit", p["exit"][s]]]
                elif kind == "fixed":
                    rows += [[u, name, "exit", p["exit"][s]], [u, name, "pass_rate", p["pass_rate"][s]]]
                else:
                    rows += [[u, name, "attrition", p["attrition"]], [u, name, "transfer_in", p["transfer_in"]]]
            rows.append([u, self.stages[0][0], "inflow", p["inflow"]])
        return pd.DataFrame(rows, columns=["scope", "stage", "param", "value"])

    def stocks_frame(self) -> pd.DataFrame:
        rows = []
        for u in self.units:
            for (s, a), c in self.stocks.get(u, {}).items():
                name, kind, _ = self.stages[s]
                rows.append([u, name, c, a if kind == "fixed" else None])
        return pd.DataFrame(rows, columns=["unit_id", "stage", "count", "months_in_stage"])


def expected_reference(model: Model, horizon: int) -> dict[str, np.ndarray]:
    """Own expected values per unit: stocks units x (H+1), events units x H."""
    slots = model.slots()
    index = {slot: i for i, slot in enumerate(slots)}
    n_slots = len(slots)
    out = {name: np.zeros((len(model.units), horizon + 1)) for name, _, _ in model.stages}
    out.update({e: np.zeros((len(model.units), horizon)) for e in EVENTS})
    for k, u in enumerate(model.units):
        p = model.params[u]
        move = np.zeros((n_slots, n_slots))
        ev = {e: np.zeros(n_slots) for e in EVENTS}

        def enter(i, s, prob):
            """From slot i into stage s (at age 0) with probability prob."""
            move[i, index[(s, 0)]] += prob
            if s == model.admission:
                ev["admissions"][i] += prob
            if s == model.terminal:
                ev["confirmations"][i] += prob

        for (s, a), i in index.items():
            name, kind, months = model.stages[s]
            if kind == "markov":
                adv, ex = p["advance"][s], p["exit"][s]
                move[i, i] += 1 - adv - ex
                ev["exits"][i] += ex
                enter(i, s + 1, adv)
            elif kind == "fixed":
                ex, pr = p["exit"][s], p["pass_rate"][s]
                ev["exits"][i] += ex
                if a + 1 < months:
                    move[i, index[(s, a + 1)]] += 1 - ex
                else:
                    ev["exits"][i] += (1 - ex) * (1 - pr)
                    enter(i, s + 1, (1 - ex) * pr)
            else:
                move[i, i] += 1 - p["attrition"]
                ev["leavers"][i] += p["attrition"]
        arrive = np.zeros(n_slots)
        arrive[index[(0, 0)]] += p["inflow"]
        arrive[index[(model.terminal, 0)]] += p["transfer_in"]
        x = np.zeros(n_slots)
        for slot, c in model.stocks.get(u, {}).items():
            x[index[slot]] = c
        for t in range(horizon + 1):
            for s, (name, _, _) in enumerate(model.stages):
                out[name][k, t] = sum(x[i] for (s2, _), i in index.items() if s2 == s)
            if t == horizon:
                break
            for e in ("admissions", "confirmations", "exits", "leavers"):
                out[e][k, t] = x @ ev[e]
            out["arrivals"][k, t] = p["inflow"] + p["transfer_in"]
            x = x @ move + arrive
    return out


def simulate(model: Model, horizon: int, paths: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Monte Carlo over individual people.

    Returns per path and unit (paths x units): admissions and confirmations over
    months 0..H-1, and per stage the stock at the start of month H.
    """
    n_units = len(model.units)
    # people present at the start: a template per path, repeated over the paths
    t_unit, t_stage, t_age = [], [], []
    for k, u in enumerate(model.units):
        for (s, a), c in model.stocks.get(u, {}).items():
            t_unit += [k] * c
            t_stage += [s] * c
            t_age += [a] * c
    m0 = len(t_unit)
    path = [np.repeat(np.arange(paths), m0)]
    unit = [np.tile(np.array(t_unit, dtype=np.int64), paths)]
    stage = [np.tile(np.array(t_stage, dtype=np.int64), paths)]
    age = [np.tile(np.array(t_age, dtype=np.int64), paths)]
    appear = [np.zeros(paths * m0, dtype=np.int64)]
    # arrivals of month t (Poisson per path and unit) land at the start of month t + 1
    for key, into in (("inflow", 0), ("transfer_in", model.terminal)):
        rates = np.array([model.params[u][key] for u in model.units])
        counts = rng.poisson(rates[None, :, None], size=(paths, n_units, horizon))
        flat = counts.reshape(-1)
        p_idx, u_idx, t_idx = np.unravel_index(np.arange(flat.size), counts.shape)
        path.append(np.repeat(p_idx, flat))
        unit.append(np.repeat(u_idx, flat))
        stage.append(np.full(flat.sum(), into))
        age.append(np.zeros(flat.sum(), dtype=np.int64))
        appear.append(np.repeat(t_idx + 1, flat))
    path, unit, stage, age, appear = (np.concatenate(a) for a in (path, unit, stage, age, appear))
    key = path * n_units + unit

    def per_unit(param, s=None):
        values = [model.params[u][param] if s is None else model.params[u][param].get(s, 0.0) for u in model.units]
        return np.array(values)[unit]

    counts = {e: np.zeros(paths * n_units) for e in ("admissions", "confirmations")}

    def count(event, mask):
        counts[event] += np.bincount(key[mask], minlength=paths * n_units)

    for t in range(horizon):
        present = (stage >= 0) & (appear <= t)
        r = rng.random(stage.size)
        r2 = rng.random(stage.size)
        old_stage, old_age = stage.copy(), age.copy()
        for s, (_, kind, months) in enumerate(model.stages):
            here = present & (old_stage == s)
            if kind == "markov":
                adv, ex = per_unit("advance", s), per_unit("exit", s)
                go = here & (r < adv)
                gone = here & (r >= adv) & (r < adv + ex)
            elif kind == "fixed":
                ex, pr = per_unit("exit", s), per_unit("pass_rate", s)
                out = here & (r < ex)
                last = here & ~out & (old_age == months - 1)
                go = last & (r2 < pr)
                gone = out | (last & ~go)
                age[here & ~out & ~last] += 1
            else:
                gone = here & (r < per_unit("attrition"))
                go = np.zeros_like(here)
            stage[gone] = -1
            if kind != "terminal":
                stage[go] = s + 1
                age[go] = 0
                if s + 1 == model.admission:
                    count("admissions", go)
                if s + 1 == model.terminal:
                    count("confirmations", go)
    result = {e: c.reshape(paths, n_units) for e, c in counts.items()}
    present = (stage >= 0) & (appear <= horizon)
    for s, (name, _, _) in enumerate(model.stages):
        here = present & (stage == s)
        result[name] = np.bincount(key[here], minlength=paths * n_units).reshape(paths, n_units).astype(float)
    return result
