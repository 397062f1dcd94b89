"""Independent references for the tests: random trees, networkx graphs and brute force.

Nothing here calls memberflow: these are the oracles the library is compared against.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from hypothesis import strategies as st


def random_tree_frame(rng: np.random.Generator, n: int, *, shuffle: bool = True) -> pd.DataFrame:
    """A random rooted tree of n units as a units frame (unit_id, parent_id, kind).

    Unit k's parent is a uniformly chosen earlier unit (a random recursive tree), then
    the rows are shuffled so that children often come before their parents. Ids are
    distinct random strings.
    """
    parents = [None] + [int(rng.integers(0, k)) for k in range(1, n)]
    ids = [f"u{int(x)}" for x in rng.choice(10 * n + 10, size=n, replace=False)]
    rows = [(ids[k], None if parents[k] is None else ids[parents[k]], f"kind{int(rng.integers(0, 3))}")
            for k in range(n)]
    order = rng.permutation(n) if shuffle else np.arange(n)
    rows = [rows[i] for i in order]
    return pd.DataFrame(rows, columns=["unit_id", "parent_id", "kind"])


@st.composite
def tree_frames(draw, min_size: int = 1, max_size: int = 40) -> pd.DataFrame:
    """Hypothesis strategy: random rooted trees as units frames (see random_tree_frame).
    Both uniform recursive trees and deep, path-like ones are drawn."""
    n = draw(st.integers(min_size, max_size))
    deep = draw(st.booleans())
    parents: list[int | None] = [None]
    for k in range(1, n):
        lo = max(0, k - 2) if deep else 0
        parents.append(draw(st.integers(lo, k - 1)))
    ids = draw(st.lists(st.text(alphabet="abcdefgXYZ0123456789_-.", min_size=1, max_size=6),
                        min_size=n, max_size=n, unique=True))
    order = draw(st.permutations(list(range(n))))
    rows = [(ids[k], None if parents[k] is None else ids[parents[k]]) for k in order]
    return pd.DataFrame(rows, columns=["unit_id", "parent_id"])


def nx_tree(frame: pd.DataFrame) -> nx.DiGraph:
    """parent -> child DiGraph of a units frame (every unit is a node)."""
    g = nx.DiGraph()
    g.add_nodes_from(frame["unit_id"])
    for u, p in zip(frame["unit_id"], frame["parent_id"]):
        if p is not None and not (isinstance(p, float) and np.isnan(p)):
            g.add_edge(p, u)
    return g


def nx_root(g: nx.DiGraph) -> str:
    roots = [u for u in g if g.in_degree(u) == 0]
    assert len(roots) == 1
    return roots[0]


def brute_rollup(g: nx.DiGraph, own: dict[str, float]) -> dict[str, float]:
    """Every node's own value plus its descendants', by brute force."""
    return {u: sum(own.get(v, 0.0) for v in nx.descendants(g, u) | {u}) for u in g}


def hamilton(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder apportionment (ties to the lower index), written independently."""
    s = sum(weights)
    quotas = [total * w / s for w in weights]
    parts = [int(np.floor(q)) for q in quotas]
    left = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def child_report(tmp_path, script: str, timeout: float) -> dict:
    """Runs `script` in a fresh Python process and returns the JSON object on the last
    line of its output (the Ctrl-C tests: the signal must reach a process of its own)."""
    import json
    import subprocess
    import sys

    path = tmp_path / "child.py"
    path.write_text(script)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])
