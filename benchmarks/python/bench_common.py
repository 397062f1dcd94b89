"""Helpers shared by the Python benchmark scripts: the machine line, peak memory and a
best-of-N timer (the garbage collector off during each call, as `timeit` does)."""

from __future__ import annotations

import gc
import os
import platform
import resource
import sys
import time

import numpy as np

import memberflow as mf


def maxrss_bytes() -> int:
    # Linux reports KiB, macOS bytes.
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return (f"{platform.platform()}; CPU: {cpu or 'unknown'}; os.cpu_count() = {os.cpu_count()}; "
            f"Python {platform.python_version()}, numpy {np.__version__}, memberflow {mf.__version__}")


def best_of(fn, repeat: int, cold: bool = False):
    """(first call's seconds, best seconds over `repeat` calls, last result).

    The collector is off during each call, as in `timeit`, so no collection of other
    objects lands in a timing. With cold=True a full collection runs before each call:
    it walks the whole heap and so evicts the CPU caches, which shows the cost of a call
    that finds nothing cached (for per-call lookups this is mostly memory latency)."""
    times, result = [], None
    for _ in range(repeat):
        result = None
        if cold:
            gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        finally:
            gc.enable()
    return times[0], min(times), result
