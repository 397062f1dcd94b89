"""Simulations spread over a Dask cluster, to the same bits as in one process.

``forecast(scn, horizon, method="simulate", paths=..., seed=..., client=...)`` splits
the paths into batches (``first_path``, ``count``); each batch runs on a worker as
``_core.simulate_tally`` (integer histograms and sums, before any division) and comes
back as bytes; the driver merges the tallies with ``_core.simulate_finish``. A path's
draws depend on the seed and its number only, and tallies merge by addition, so the
result is bit-identical to the run in one process with the same seed, whatever the
batches and the workers (docs/scale-out.md).

``client`` is a ``dask.distributed.Client`` (``Client("tcp://scheduler:8786")`` for a
real cluster, whose workers need memberflow installed at the same version) or
``"local"``: a ``LocalCluster(n_workers=2, threads_per_worker=1)`` started for the call
and closed after it. :func:`simulate_many` runs a sweep (many scenarios, say what-ifs
from :meth:`Scenario.replace`) through the same batches, one result per scenario.

Each batch runs single-threaded unless ``threads`` is set (a worker runs as many batches
at once as it has threads). The driver shows progress per batch done, as the run in one
process does, and cancels the outstanding batches on Ctrl-C (or an exception from a
progress callable). Needs the optional extra ``memberflow[dask]``.
"""

from __future__ import annotations

import logging
import math
import pickle
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Union, overload

from . import _core
from ._checks import whole_number
from ._progress_bar import reporter
from .errors import InputError
from .options import SimulationOptions
from .scenario import Scenario
from .simulate import DRIVER_KEYWORDS, SimulationForecast, simulate_in_process, simulation_options

__all__ = ["simulate_many", "simulate_distributed", "LOCAL_WORKERS"]

#: client="local": a LocalCluster of this many single-threaded worker processes.
LOCAL_WORKERS = 2

_INSTALL = ("client= needs dask.distributed and zstandard: pip install 'memberflow[dask]' "
            "(or 'dask[distributed]' zstandard)")


Sweep = Union[SimulationOptions, Sequence[SimulationOptions], None]


@overload
def simulate_many(scenarios: Mapping[Any, Scenario], horizon: int = 12, options: Sweep = None, *, client: Any = None,
                  batch_size: int | None = None, **keywords: Any) -> dict[Any, SimulationForecast]: ...


@overload
def simulate_many(scenarios: Sequence[Scenario], horizon: int = 12, options: Sweep = None, *, client: Any = None,
                  batch_size: int | None = None, **keywords: Any) -> list[SimulationForecast]: ...


def simulate_many(scenarios: Sequence[Scenario] | Mapping[Any, Scenario], horizon: int = 12, options: Sweep = None, *,
                  client: Any = None, batch_size: int | None = None,
                  **keywords: Any) -> list[SimulationForecast] | dict[Any, SimulationForecast]:
    """Simulate every scenario of a sweep: a list (or dict) of results, one per scenario,
    each the same bits as ``forecast(scenario, horizon, method="simulate", options=...)``
    alone. ``options`` is one :class:`SimulationOptions` for all, or one per scenario;
    keywords (``paths=``, ``seed=``, ...) change them all. With ``client``, the batches of
    every scenario share the cluster at once; without, the scenarios run one by one here.

    >>> import memberflow as mf
    >>> scn = mf.datasets.example_district()
    >>> runs = mf.simulate_many([scn, scn.replace(what="inflow", scale=1.2)], 12, paths=200, seed=1, progress=False)
    >>> bool(runs[1].mean("admissions")["D"] > runs[0].mean("admissions")["D"])
    True
    """
    names = list(scenarios) if isinstance(scenarios, Mapping) else None
    items = [scenarios[k] for k in names] if names is not None else list(scenarios)
    for i, s in enumerate(items):
        if not isinstance(s, Scenario):
            raise InputError(f"simulate_many: scenario {names[i] if names else i + 1} is a "
                             f"{type(s).__name__}, not a memberflow.Scenario")
    horizon = whole_number("horizon", horizon)
    check = [k for k in keywords if k in DRIVER_KEYWORDS]
    if check:
        raise InputError(f"simulate_many: {check[0]} is an argument of forecast, not of simulate_many")
    if isinstance(options, (list, tuple)):
        if len(options) != len(items):
            raise InputError(f"simulate_many: {len(options)} options for {len(items)} scenarios (give one for all, "
                             "or one per scenario)")
        opts = [simulation_options(o, keywords, "simulate_many") for o in options]
    else:
        opts = [simulation_options(options, keywords, "simulate_many")] * len(items)  # type: ignore[arg-type]  # checked there
    if client is None:
        if batch_size is not None:
            raise InputError("batch_size applies to a run spread over a Dask client (client=...)")
        results = [simulate_in_process(s, horizon, o) for s, o in zip(items, opts)]
    else:
        results = _run([(s, horizon, o) for s, o in zip(items, opts)], client, batch_size)
    return dict(zip(names, results)) if names is not None else results


def simulate_distributed(scenario: Scenario, horizon: int, options: SimulationOptions, client: Any,
                         batch_size: int | None) -> SimulationForecast:
    """forecast(..., method="simulate", client=...): see the module's docstring."""
    return _run([(scenario, horizon, options)], client, batch_size)[0]


def _batches(options: SimulationOptions, size: int) -> list[tuple[int, int]]:
    """(first_path, count) of each batch of a run's paths."""
    if options.paths < 1:  # one batch: the engine refuses it with its message
        return [(options.first_path, options.paths)]
    end = options.first_path + options.paths
    return [(first, min(size, end - first)) for first in range(options.first_path, end, size)]


#: A batch's fixed costs (the run's setup, making, sending, reading and merging its
#: tally) are about those of ten paths whatever the organisation's size (both grow
#: with units x months), so by default a batch holds at least this many paths, unless
#: that would leave a worker thread idle.
MIN_BATCH_PATHS = 50


def _default_batch(paths: int, threads: int) -> int:
    """Paths per batch: two batches per worker thread (for balance) when each gets at
    least MIN_BATCH_PATHS, else one per thread (any split gives the same bits)."""
    batches = 2 * threads if paths >= 2 * threads * MIN_BATCH_PATHS else threads
    return max(1, math.ceil(paths / batches))


def _pack(tally: bytes) -> bytes:
    """A tally compressed for the network: mostly zeros, the national organisation's 430 MB
    are 11 MB with Zstandard level 1, made in 0.23 s and read back in 0.25 s (zlib level 1,
    used before: 15 MB, 0.64 s and 0.60 s; benchmarks/RESULTS.md)."""
    packed: bytes = _zstandard().ZstdCompressor(level=1).compress(tally)
    return packed


def _unpack(packed: bytes) -> bytes:
    tally: bytes = _zstandard().ZstdDecompressor().decompress(packed)
    return tally


def _zstandard() -> Any:
    """The zstandard module, imported on first use (the [dask] extra)."""
    try:
        import zstandard
    except ImportError:
        raise ImportError(_INSTALL) from None
    return zstandard


class _Shipped:
    """A scenario pickled once, on the driver, and sent to the workers as these bytes.
    Scattering the Scenario itself made the first worker unpickle it and pickle it again
    to pass it on (a national one: ~1 s and ~0.6 s, in series, before any batch ran);
    bytes pass on as they are, and each worker unpickles them at its first batch, in
    parallel with the others (_scenario_of)."""

    def __init__(self, scenario: Scenario) -> None:
        self.token = uuid.uuid4().hex
        self.data = pickle.dumps(scenario, protocol=pickle.HIGHEST_PROTOCOL)


#: On a worker: the scenarios of the last few shipments, by token, so that the batches
#: of one run unpickle their scenario once per worker process.
_KEPT_SCENARIOS = 4
_unpickled: dict[str, Scenario] = {}


def _scenario_of(shipped: _Shipped) -> Scenario:
    scenario = _unpickled.get(shipped.token)
    if scenario is None:
        scenario = pickle.loads(shipped.data)
        if not isinstance(scenario, Scenario):
            raise InputError(f"a shipped scenario unpickled to a {type(scenario).__name__}")
        _unpickled[shipped.token] = scenario
        while len(_unpickled) > _KEPT_SCENARIOS:
            _unpickled.pop(next(iter(_unpickled)))
    return scenario


def _tally(shipped: _Shipped, horizon: int, options: SimulationOptions, first: int, count: int) -> bytes:
    """One batch, on a worker: the tally of paths first .. first + count - 1, packed."""
    core = options.replace(first_path=first, paths=count, threads=options.threads or 1)._to_core()
    return _pack(_core.simulate_tally(_scenario_of(shipped)._core, horizon, core))


def _connect(client: Any) -> tuple[Any, Any]:
    """(client, cluster to close or None) for client= a Client or "local"."""
    if isinstance(client, str) and client != "local":
        raise InputError(f"client must be a dask.distributed.Client or 'local', got {client!r}")
    try:
        import distributed
    except ImportError:
        raise ImportError(_INSTALL) from None
    _zstandard()  # the driver unpacks the workers' tallies: fail before any work is sent
    if isinstance(client, str):
        cluster = distributed.LocalCluster(n_workers=LOCAL_WORKERS, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=logging.ERROR)
        try:
            return distributed.Client(cluster), cluster
        except BaseException:
            cluster.close()
            raise
    if not isinstance(client, distributed.Client):
        raise InputError(f"client must be a dask.distributed.Client or 'local', got {type(client).__name__}")
    return client, None


#: At most this many tallies of a scenario come to the driver, which merges them as it
#: finishes the run; beyond that, pairs are merged on the workers first (a binary tree
#: of merge tasks), so that a large cluster does not funnel every batch into the driver.
#: The same bits either way; benchmarks/python/bench_scale_out.py measures 4 and 1.
DRIVER_TALLIES = 4


def _merge(*tallies: bytes) -> bytes:
    """Some batches' (compressed) tallies merged into one, on a worker."""
    return _pack(_core.simulate_merge([_unpack(t) for t in tallies]))


def _run(jobs: list[tuple[Scenario, int, SimulationOptions]], client: Any,
         batch_size: int | None) -> list[SimulationForecast]:
    if batch_size is not None:
        batch_size = whole_number("batch_size", batch_size, low=1)
    client, cluster = _connect(client)
    from distributed import as_completed

    everything: list[Any] = []  # every future of the run, to cancel
    try:
        workers = sum(client.nthreads().values()) or LOCAL_WORKERS
        report, bar = reporter(jobs[0][2].progress)
        total = sum(max(o.paths, 0) for _, _, o in jobs)
        run = uuid.uuid4().hex[:12]
        counts, batches, shared = {}, [], {}
        for j, (scn, horizon, opts) in enumerate(jobs):
            if id(scn) not in shared:  # the scenario travels once per worker, not per batch
                shared[id(scn)] = client.scatter(_Shipped(scn), broadcast=True, hash=False)
            size = batch_size or _default_batch(opts.paths, math.ceil(workers / len(jobs)))
            # the options travel once per worker too (a fit's parameter sets can be large)
            wire = client.scatter(opts.replace(progress=None), broadcast=True, hash=False)
            mine = []
            for first, count in _batches(opts, size):
                f = client.submit(_tally, shared[id(scn)], horizon, wire, first, count, pure=False,
                                  key=f"memberflow-tally-{run}-{j}-{first}")
                counts[f.key] = max(count, 0)
                mine.append(f)
            everything += mine
            level, depth = mine, 0
            while len(level) > DRIVER_TALLIES:  # a binary tree of merges, on the workers
                depth += 1
                level = [client.submit(_merge, *level[k:k + 2], pure=False,
                                       key=f"memberflow-merge-{run}-{j}-{depth}-{k}") if k + 1 < len(level)
                         else level[k] for k in range(0, len(level), 2)]
                everything += level
            batches.append(level)
        done = 0
        try:
            for f in as_completed([f for f in everything if f.key in counts]):
                if f.status == "error":
                    f.result()  # raises the batch's exception (the engine's refusal, say) here
                done += counts[f.key]
                report(done, total)
            tallies = [client.gather(level) for level in batches]
        finally:
            bar.close()
    except BaseException:
        if everything:  # Ctrl-C, a progress callable's exception, a batch's error: stop the rest
            client.cancel(everything)
        raise
    finally:
        if cluster is not None:
            client.close()
            cluster.close()
    results = []
    for (scn, horizon, opts), parts in zip(jobs, tallies):
        result = _core.simulate_finish(scn._core, horizon, opts._to_core(), [_unpack(p) for p in parts])
        results.append(SimulationForecast(scn, result, opts.seed))
    return results
