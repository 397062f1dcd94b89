"""Helpers shared by the Python benchmark scripts: the machine line, peak memory and a
best-of-N timer (garbage collected before every call, so runs start alike)."""

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


def best_of(fn, repeat: int):
    """(first call's seconds, best seconds over `repeat` calls, last result)."""
    times, result = [], None
    for _ in range(repeat):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times[0], min(times), result
