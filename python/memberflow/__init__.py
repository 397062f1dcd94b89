"""memberflow: organisation graphs and membership-pipeline forecasts.

>>> import memberflow as mf
>>> scn = mf.datasets.example_district()
>>> fc = mf.forecast(scn, horizon=12)
>>> round(fc.mean("admissions")["D"]) > 0
True
"""

from __future__ import annotations

from . import _core, errors, stage
from .errors import Error, InputError, ParameterError, UnknownIdError

_core._set_error_classes(Error, InputError, ParameterError, UnknownIdError)

from . import datasets  # noqa: E402
from .exact import Distributions, ExactForecast  # noqa: E402
from .simulate import SimulationForecast  # noqa: E402
from .options import CoursePolicy, ParameterDraw, SimulationOptions, TargetRule  # noqa: E402
from .scale_out import simulate_many  # noqa: E402
from .forecast import Forecast, forecast  # noqa: E402
from .org import Org  # noqa: E402
from .pipeline import Pipeline  # noqa: E402
from .scenario import ParameterWarning, Scenario  # noqa: E402
from .records import CountTable, EventLog  # noqa: E402
from .estimate import Fit, estimate  # noqa: E402
from .backtest import backtest, backtest_summary  # noqa: E402
from .allocate import InfeasibleTargetError, allocate  # noqa: E402
from .diagnose import diagnose  # noqa: E402
from .required import required_source  # noqa: E402
from .progress import Progress, progress  # noqa: E402
from .report import Report, report  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Error", "InputError", "ParameterError", "UnknownIdError", "InfeasibleTargetError",
    "CountTable", "Distributions", "EventLog", "ExactForecast", "Forecast", "Org", "ParameterWarning",
    "SimulationForecast", "SimulationOptions", "CoursePolicy", "TargetRule", "ParameterDraw", "simulate_many",
    "Pipeline",
    "Scenario",
    "diagnose",
    "Fit", "Progress", "progress", "Report", "report", "allocate", "required_source", "backtest", "backtest_summary", "datasets", "errors", "estimate", "forecast", "stage",
]
