"""memberflow: organisation graphs and membership-pipeline forecasts.

>>> import memberflow as mf
>>> scn = mf.datasets.example_district()
>>> fc = mf.forecast(scn, horizon=12)
>>> round(fc.mean("admissions")["D"]) > 0
True
"""

from __future__ import annotations

from . import _core, datasets, errors, plot, stage, types  # plot imports matplotlib on the first plot, not here
from .allocate import InfeasibleTargetError, allocate
from .backtest import backtest, backtest_summary
from .diagnose import diagnose
from .distribution import Distributions
from .errors import CancelledError, Error, InputError, ParameterError, UnknownIdError
from .estimate import Fit, estimate
from .exact import ExactForecast
from .forecast import Forecast, forecast
from .frames import read_frame
from .options import CoursePolicy, ParameterDraw, SimulationOptions, TargetRule
from .org import Org
from .pipeline import Pipeline
from .progress import Progress, progress
from .records import CountTable, EventLog
from .report import Report, report
from .required import required_source
from .scale_out import simulate_many
from .scenario import ParameterWarning, Scenario
from .simulate import SimulationForecast

#: The version of the compiled core, which is the project's (CMakeLists.txt) in one place.
__version__: str = _core.__version__

__all__ = [
    "Error", "InputError", "ParameterError", "UnknownIdError", "CancelledError", "InfeasibleTargetError",
    "CountTable", "Distributions", "EventLog", "ExactForecast", "Forecast", "Org", "ParameterWarning",
    "SimulationForecast", "SimulationOptions", "CoursePolicy", "TargetRule", "ParameterDraw", "simulate_many",
    "Pipeline",
    "Scenario",
    "diagnose",
    "Fit", "Progress", "progress", "Report", "report", "allocate", "required_source", "backtest", "backtest_summary", "datasets", "errors", "estimate", "forecast", "read_frame", "plot", "stage", "types",
]
