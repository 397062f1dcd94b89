"""
Compiled core of memberflow (private: use the memberflow package).
"""
from __future__ import annotations
import collections.abc
import numpy
import numpy.typing
import typing
__all__: list[str] = ['AbsorbingChain', 'CancelledError', 'CountTable', 'CoursePolicy', 'EVENT_NAMES', 'Error', 'EventLog', 'ExactForecast', 'ExactMixture', 'ExactOptions', 'ExpectedOptions', 'FitResult', 'ForecastResult', 'IdsByAddress', 'InputError', 'NO_MAXIMUM', 'Org', 'PARAM_NAMES', 'ParameterDraw', 'ParameterDraws', 'ParameterError', 'Pipeline', 'Scenario', 'SimulationOptions', 'SimulationResult', 'Stage', 'StageKind', 'TargetRule', 'UnknownIdError', 'allocate', 'apportion', 'backtest', 'binomial_pmf', 'default_cutoffs', 'example_district', 'example_history', 'fit_event_log', 'fit_exposures', 'forecast_expected', 'forecast_expected_mixture', 'funnel', 'parameter_draws_from_state', 'parameter_draws_state', 'philox4x64', 'poisson_pmf', 'read_fit', 'simulate', 'simulate_finish', 'simulate_history', 'simulate_merge', 'simulate_tally', 'synthetic', 'write_fit', 'write_synthetic_history']
class Error(Exception):
    """Base class of every memberflow error."""
class CancelledError(Error, RuntimeError):
    """A simulation stopped by its progress callback (Ctrl-C raises KeyboardInterrupt)."""
class InputError(Error, ValueError):
    """A malformed file, row or table: duplicate id, cycle, unknown parent, bad number."""
class ParameterError(Error, ValueError):
    """A model parameter outside its domain (a probability above 1, advance + exit > 1)."""
class UnknownIdError(Error, KeyError):
    """A unit, stage, parameter or quantity name that does not exist."""
    def __str__(self) -> str: ...
class Org:
    """
    The organisation tree (C++ core; use memberflow.Org).
    """
    @staticmethod
    def from_columns(source: str, names: collections.abc.Sequence[str], columns: collections.abc.Sequence[collections.abc.Sequence[str]], labels: collections.abc.Sequence[str] = []) -> Org:
        """
        Build from text columns (unit_id, parent_id, name, kind, attributes...).
        """
    @staticmethod
    def from_json_text(text: str) -> Org:
        """
        Parse an organisation from JSON text.
        """
    @staticmethod
    def read_csv(path: str) -> Org:
        """
        Read a units CSV (unit_id,parent_id,name,kind,attributes...).
        """
    @staticmethod
    def read_json(path: str) -> Org:
        """
        Read an organisation JSON file.
        """
    def __len__(self) -> int:
        ...
    def ancestors(self, unit: typing.SupportsInt | typing.SupportsIndex) -> list[int]:
        ...
    def ancestors_function(self, ids: tuple[str, ...]) -> collections.abc.Callable[[str], tuple[str, ...]]:
        """
        A function unit id -> its ancestors' ids (objects of `ids`, the org's ids in its order), nearest first.
        """
    def attributes(self) -> list[typing.Any]:
        """
        [(name, type, values)] for every attribute column.
        """
    def children(self, unit: typing.SupportsInt | typing.SupportsIndex) -> list[int]:
        ...
    def children_ids(self, unit_id: str) -> list[str]:
        ...
    def contains(self, unit_id: str) -> bool:
        ...
    def depth(self, unit: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def descendants(self, unit: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int32]:
        ...
    def index(self, unit_id: str) -> int:
        """
        Index of a unit id; KeyError if unknown.
        """
    def indices(self, unit_ids: collections.abc.Sequence[str]) -> numpy.typing.NDArray[numpy.int32]:
        ...
    def lca(self, units: typing.Annotated[numpy.typing.ArrayLike, numpy.int64]) -> int:
        ...
    def overseers(self) -> dict[str, typing.Any]:
        ...
    def overseers_columns(self) -> dict[str, typing.Any]:
        ...
    def overseers_of(self, unit: typing.SupportsInt | typing.SupportsIndex) -> list[str]:
        ...
    def parent(self, unit: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def parent_id(self, unit_id: str) -> typing.Any:
        ...
    def read_overseers_csv(self, path: str) -> None:
        ...
    def rollup(self, values: typing.Annotated[numpy.typing.ArrayLike, numpy.float64]) -> numpy.typing.NDArray[numpy.float64]:
        """
        Subtree totals of per-unit values (rows are units).
        """
    def set_overseers_columns(self, source: str, names: collections.abc.Sequence[str], columns: collections.abc.Sequence[collections.abc.Sequence[str]], labels: collections.abc.Sequence[str] = []) -> None:
        ...
    def subtree(self, unit: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int32]:
        ...
    def subtree_range(self, unit_id: str) -> tuple[int, int]:
        """
        [first, stop) of the unit's subtree in preorder positions.
        """
    def to_json_text(self) -> str:
        ...
    def units_in_scope(self, scope: str) -> list[int]:
        ...
    def write_csv(self, path: str) -> None:
        ...
    def write_json(self, path: str) -> None:
        ...
    @property
    def depths(self) -> numpy.typing.NDArray[numpy.int32]:
        ...
    @property
    def height(self) -> int:
        ...
    @property
    def ids(self) -> list[str]:
        ...
    @property
    def kinds(self) -> list[str]:
        ...
    @property
    def names(self) -> list[str]:
        ...
    @property
    def parents(self) -> numpy.typing.NDArray[numpy.int32]:
        """
        Parent index of every unit (-1 for the root), a read-only view.
        """
    @property
    def preorder(self) -> numpy.typing.NDArray[numpy.int32]:
        ...
    @property
    def root(self) -> int:
        ...
class IdsByAddress:
    """
    The org's id objects by address (memberflow.Org places a Series by id through it).
    """
    def __init__(self, ids: numpy.ndarray) -> None:
        """
        The ids of an Org as an object array, in the org's order.
        """
    def find(self, org: Org, ids: numpy.ndarray) -> numpy.typing.NDArray[numpy.int32]:
        """
        Index of each id of an object array: by address if it is one of the org's own id objects, else by text; -1 where it names no unit, -2 where it names a unit an earlier id named.
        """
class StageKind:
    """
    Members:
    
      markov
    
      fixed
    
      terminal
    """
    __members__: typing.ClassVar[dict[str, StageKind]]
    fixed: typing.ClassVar[StageKind]
    markov: typing.ClassVar[StageKind]
    terminal: typing.ClassVar[StageKind]
    @typing.overload
    def __eq__(self, other: StageKind) -> bool:
        ...
    @typing.overload
    def __eq__(self, other: typing.Any) -> bool:
        ...
    def __getstate__(self) -> int:
        ...
    def __hash__(self) -> int:
        ...
    def __index__(self) -> int:
        ...
    def __init__(self, value: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __int__(self) -> int:
        ...
    @typing.overload
    def __ne__(self, other: StageKind) -> bool:
        ...
    @typing.overload
    def __ne__(self, other: typing.Any) -> bool:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, state: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    def __str__(self) -> str:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def value(self) -> int:
        ...
class Stage:
    """
    One stage of a pipeline with its default parameters.
    """
    @staticmethod
    def fixed(name: str, months: typing.SupportsInt | typing.SupportsIndex, exit: typing.SupportsFloat | typing.SupportsIndex, pass_rate: typing.SupportsFloat | typing.SupportsIndex) -> Stage:
        ...
    @staticmethod
    def markov(name: str, advance: typing.SupportsFloat | typing.SupportsIndex, exit: typing.SupportsFloat | typing.SupportsIndex, inflow: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> Stage:
        ...
    @staticmethod
    def terminal(name: str, attrition: typing.SupportsFloat | typing.SupportsIndex, transfer_in: typing.SupportsFloat | typing.SupportsIndex = 0.0) -> Stage:
        ...
    @property
    def advance(self) -> float:
        ...
    @property
    def attrition(self) -> float:
        ...
    @property
    def exit(self) -> float:
        ...
    @property
    def inflow(self) -> float:
        ...
    @property
    def kind(self) -> StageKind:
        ...
    @property
    def months(self) -> int:
        ...
    @property
    def name(self) -> str:
        ...
    @property
    def pass_rate(self) -> float:
        ...
    @property
    def transfer_in(self) -> float:
        ...
class Pipeline:
    """
    A chain of stages (C++ core; use memberflow.Pipeline).
    """
    @staticmethod
    def from_json(text: str, source: str = 'pipeline JSON') -> Pipeline:
        ...
    @staticmethod
    def party() -> Pipeline:
        ...
    @staticmethod
    def read_json(path: str) -> Pipeline:
        ...
    def __init__(self, stages: collections.abc.Sequence[Stage], admission: str) -> None:
        ...
    def index(self, stage: str) -> int:
        ...
    def offset(self, stage: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def takes(self, stage: typing.SupportsInt | typing.SupportsIndex, param: str) -> bool:
        ...
    def to_json(self) -> str:
        ...
    def width(self, stage: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    @property
    def admission(self) -> int:
        ...
    @property
    def stages(self) -> list[Stage]:
        ...
    @property
    def state_size(self) -> int:
        ...
    @property
    def terminal(self) -> int:
        ...
class Scenario:
    """
    C++ core scenario (use memberflow.Scenario).
    """
    @staticmethod
    def read_dir(path: str, units: str = '', overseers: str = '', params: str = '', stocks: str = '', targets: str = '') -> tuple[Scenario, list[str]]:
        """
        A scenario directory (or manifest) with optional loose-file overrides -> (scenario, warnings).
        """
    def __init__(self, org: Org, pipeline: Pipeline) -> None:
        ...
    def apply_params_columns(self, source: str, names: collections.abc.Sequence[str], columns: collections.abc.Sequence[collections.abc.Sequence[str]], labels: collections.abc.Sequence[str] = []) -> list[str]:
        ...
    def apply_params_csv(self, path: str) -> list[str]:
        ...
    def explain_columns(self, unit_ids: collections.abc.Sequence[str]) -> dict[str, typing.Any]:
        ...
    def param_array(self, param: str) -> numpy.typing.NDArray[numpy.float64]:
        """
        Units x stages (inflow, transfer_in: units) writable view of one parameter.
        """
    def params_columns(self) -> dict[str, typing.Any]:
        ...
    def replace(self, changes: collections.abc.Sequence[tuple[str, str, str, str, typing.SupportsFloat | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex | None]]) -> Scenario:
        """
        A copy with the changes (scope, stage, what, op, value, month_in_stage) applied in order; the organisation and pipeline are shared (see memberflow/replace.hpp).
        """
    def set_stocks_columns(self, source: str, names: collections.abc.Sequence[str], columns: collections.abc.Sequence[collections.abc.Sequence[str]], labels: collections.abc.Sequence[str] = []) -> None:
        ...
    def set_stocks_csv(self, path: str) -> None:
        ...
    def set_targets_columns(self, source: str, names: collections.abc.Sequence[str], columns: collections.abc.Sequence[collections.abc.Sequence[str]], labels: collections.abc.Sequence[str] = []) -> None:
        ...
    def set_targets_csv(self, path: str) -> None:
        ...
    def shares_parts_with(self, other: Scenario) -> bool:
        """
        Whether both scenarios hold the same organisation and pipeline objects (not copies).
        """
    def stocks_columns(self) -> dict[str, typing.Any]:
        ...
    def validate(self) -> None:
        ...
    def write_dir(self, directory: str) -> dict[str, typing.Any]:
        ...
    @property
    def org(self) -> Org:
        ...
    @property
    def pipeline(self) -> Pipeline:
        ...
    @property
    def start(self) -> typing.Any:
        """
        The calendar month of month 0 as 'YYYY-MM', or None.
        """
    @start.setter
    def start(self, arg1: str | None) -> None:
        ...
    @property
    def stocks(self) -> numpy.typing.NDArray[numpy.float64]:
        """
        Units x state slots (writable view).
        """
    @property
    def targets(self) -> numpy.typing.NDArray[numpy.float64]:
        ...
class ForecastResult:
    def is_stock(self, quantity: str) -> bool:
        ...
    def own(self, quantity: str) -> numpy.typing.NDArray[numpy.float64]:
        """
        Each unit's own expected values, units x months (a read-only view).
        """
    def rolled(self, quantity: str) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, n]"]:
        ...
    def stock(self, stage: str, month: typing.SupportsInt | typing.SupportsIndex) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, 1]"]:
        ...
    def total(self, event: str, first: typing.SupportsInt | typing.SupportsIndex, last: typing.SupportsInt | typing.SupportsIndex) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, 1]"]:
        ...
    @property
    def horizon(self) -> int:
        ...
    @property
    def quantities(self) -> list[str]:
        ...
class ExpectedOptions:
    def __init__(self, *, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def threads(self) -> int:
        """
        Threads (0 or less: one per core); no effect on the result.
        """
    @threads.setter
    def threads(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class AbsorbingChain:
    def __init__(self, q: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"], r: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"]) -> None:
        ...
    def absorption_probabilities(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, n]"]:
        ...
    def expected_steps(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, 1]"]:
        ...
    def reach_probabilities(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, n]"]:
        ...
    def steps_to_absorbing(self, k: typing.SupportsInt | typing.SupportsIndex) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, 1]"]:
        ...
    def steps_to_transient(self, j: typing.SupportsInt | typing.SupportsIndex) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, 1]"]:
        ...
    @property
    def fundamental(self) -> typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, n]"]:
        ...
class ExactOptions:
    def __init__(self, *, tolerance: typing.SupportsFloat | typing.SupportsIndex = 1e-12, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def __repr__(self) -> str:
        ...
    @property
    def threads(self) -> int:
        """
        Threads (0 or less: one per core); no effect on the pmfs.
        """
    @threads.setter
    def threads(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def tolerance(self) -> float:
        """
        Tail mass any node's pmf may drop, in (0, 1).
        """
    @tolerance.setter
    def tolerance(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class ExactForecast:
    @typing.overload
    def __init__(self, scenario: Scenario, horizon: typing.Any, options: ExactOptions) -> None:
        ...
    @typing.overload
    def __init__(self, scenario: Scenario, horizon: typing.Any, tolerance: typing.SupportsFloat | typing.SupportsIndex = 1e-12, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> None:
        ...
    def events(self, event: str, first: typing.SupportsInt | typing.SupportsIndex, last: typing.SupportsInt | typing.SupportsIndex) -> dict[str, typing.Any]:
        ...
    def stock(self, stage: str, month: typing.SupportsInt | typing.SupportsIndex) -> dict[str, typing.Any]:
        ...
    @property
    def horizon(self) -> int:
        ...
    @property
    def options(self) -> ExactOptions:
        ...
    @property
    def tolerance(self) -> float:
        ...
class EventLog:
    """
    C++ core event log (use memberflow.EventLog).
    """
    @staticmethod
    def from_columns(source: str, names: collections.abc.Sequence[str], columns: collections.abc.Sequence[collections.abc.Sequence[str]], labels: collections.abc.Sequence[str], org: Org, pipeline: Pipeline, quarantine: bool = False) -> EventLog:
        ...
    @staticmethod
    def read_csv(path: str, org: Org, pipeline: Pipeline, quarantine: bool = False) -> EventLog:
        ...
    def exposures(self, first: str, last: str, block: typing.SupportsInt | typing.SupportsIndex = 1) -> dict[str, typing.Any]:
        """
        Units x months arrays per stage (copies), months first..last (YYYY-MM); with block > 1, units x blocks of that many months ending with `last`.
        """
    def people_columns(self, month: str) -> dict[str, typing.Any]:
        """
        person_id, unit_id, stage, months_in_stage at the start of a month YYYY-MM.
        """
    def quarantined(self) -> tuple[list[typing.Any], list[typing.Any], list[typing.Any]]:
        """
        (lines, reasons, cells of each row) of the rows set aside.
        """
    def snapshot_columns(self, month: str) -> dict[str, typing.Any]:
        """
        The stocks table (unit_id, stage, count, months_in_stage) at the start of a month YYYY-MM.
        """
    def stocks_at(self, month: str) -> numpy.typing.NDArray[numpy.float64]:
        """
        Units x state slots at the start of a month YYYY-MM.
        """
    @property
    def columns(self) -> list[str]:
        ...
    @property
    def complete_from(self) -> str:
        ...
    @property
    def events_used(self) -> int:
        ...
    @property
    def first_month(self) -> str:
        ...
    @property
    def last_month(self) -> str:
        ...
    @property
    def noun(self) -> str:
        ...
    @property
    def rows_read(self) -> int:
        ...
class CountTable:
    """
    C++ core aggregate counts (use memberflow.CountTable).
    """
    @staticmethod
    def from_columns(source: str, names: collections.abc.Sequence[str], columns: collections.abc.Sequence[collections.abc.Sequence[str]], labels: collections.abc.Sequence[str], org: Org, pipeline: Pipeline, quarantine: bool = False) -> CountTable:
        ...
    @staticmethod
    def read_csv(path: str, org: Org, pipeline: Pipeline, quarantine: bool = False) -> CountTable:
        ...
    def arrays(self) -> dict[str, typing.Any]:
        """
        Per period used: unit index, first month index, months; periods x stages arrays (copies).
        """
    def exposures(self, org: Org, pipeline: Pipeline, first: str, last: str, approximation: str = 'model') -> dict[str, typing.Any]:
        """
        The exposure table the counts imply over months first..last (YYYY-MM), as EventLog.exposures, with the person-months reconstructed under the model (EM with the pooled fit) or by the trapezoid.
        """
    def quarantined(self) -> tuple[list[typing.Any], list[typing.Any], list[typing.Any]]:
        ...
    def snapshot_columns(self, org: Org, pipeline: Pipeline, month: str) -> dict[str, typing.Any]:
        """
        The stocks table (unit_id, stage, count, months_in_stage) at the start of a month YYYY-MM.
        """
    @property
    def columns(self) -> list[str]:
        ...
    @property
    def noun(self) -> str:
        ...
    @property
    def rows_read(self) -> int:
        ...
class ParameterDraws:
    def __len__(self) -> int:
        ...
class FitResult:
    def draw(self, count: typing.Any, seed: typing.Any) -> ParameterDraws:
        """
        Parameter sets drawn from the predictive distribution (draw_parameters).
        """
    def profile(self, start: str) -> list[float]:
        """
        The seasonal factors month by month from `start` (YYYY-MM), one year.
        """
    def seasonal(self, quantile_low: typing.SupportsFloat | typing.SupportsIndex) -> dict[str, typing.Any]:
        """
        The seasonal profile of arrivals by calendar month (empty lists without one).
        """
    @property
    def first(self) -> str:
        ...
    @property
    def last(self) -> str:
        ...
class ExactMixture:
    @typing.overload
    def __init__(self, scenario: Scenario, draws: ParameterDraws, horizon: typing.Any, options: ExactOptions) -> None:
        ...
    @typing.overload
    def __init__(self, scenario: Scenario, draws: ParameterDraws, horizon: typing.Any, tolerance: typing.SupportsFloat | typing.SupportsIndex = 1e-12) -> None:
        ...
    def events(self, event: str, first: typing.SupportsInt | typing.SupportsIndex, last: typing.SupportsInt | typing.SupportsIndex) -> dict[str, typing.Any]:
        ...
    def stock(self, stage: str, month: typing.SupportsInt | typing.SupportsIndex) -> dict[str, typing.Any]:
        ...
    @property
    def draws(self) -> int:
        ...
class ParameterDraw:
    """
    C++ parameter_draw (use memberflow.ParameterDraw).
    """
    distribution: str
    param: str
    scope: str
    stage: str
    def __init__(self) -> None:
        ...
    @property
    def a(self) -> float:
        ...
    @a.setter
    def a(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def b(self) -> float:
        ...
    @b.setter
    def b(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class CoursePolicy:
    """
    C++ course_policy (use memberflow.CoursePolicy).
    """
    def __init__(self) -> None:
        ...
    @property
    def months(self) -> list[int]:
        ...
    @months.setter
    def months(self, arg0: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> None:
        ...
    @property
    def seats(self) -> int:
        ...
    @seats.setter
    def seats(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class TargetRule:
    """
    C++ target_policy (use memberflow.TargetRule).
    """
    stop_when_met: bool
    def __init__(self) -> None:
        ...
    @property
    def advance_boost(self) -> float:
        ...
    @advance_boost.setter
    def advance_boost(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def margin(self) -> float:
        ...
    @margin.setter
    def margin(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def pass_penalty(self) -> float:
        ...
    @pass_penalty.setter
    def pass_penalty(self, arg0: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class SimulationOptions:
    """
    C++ simulation_options (use memberflow.SimulationOptions); progress is not a field: simulate() takes it beside the options.
    """
    course: CoursePolicy | None
    keep_paths: bool
    regime: str
    target_rule: TargetRule | None
    def __init__(self) -> None:
        ...
    @property
    def first_path(self) -> int:
        ...
    @first_path.setter
    def first_path(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def inflow_profile(self) -> list[float]:
        ...
    @inflow_profile.setter
    def inflow_profile(self, arg0: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    @property
    def parameter_sets(self) -> int:
        """
        Set from a ParameterDraws (or None); reads as the number of sets.
        """
    @parameter_sets.setter
    def parameter_sets(self, arg1: ParameterDraws) -> None:
        ...
    @property
    def paths(self) -> int:
        ...
    @paths.setter
    def paths(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def seed(self) -> int:
        ...
    @seed.setter
    def seed(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def threads(self) -> int:
        ...
    @threads.setter
    def threads(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def track(self) -> list[tuple[str, int, int]]:
        """
        (quantity, first, last) triples; a stock's is (stage, month, month).
        """
    @track.setter
    def track(self, arg1: collections.abc.Sequence[tuple[str, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]]) -> None:
        ...
    @property
    def uncertainty(self) -> list[ParameterDraw]:
        ...
    @uncertainty.setter
    def uncertainty(self, arg0: collections.abc.Sequence[ParameterDraw]) -> None:
        ...
class SimulationResult:
    def distribution(self, index: typing.SupportsInt | typing.SupportsIndex) -> dict[str, typing.Any]:
        ...
    def paths(self, index: typing.SupportsInt | typing.SupportsIndex) -> numpy.typing.NDArray[numpy.int64]:
        """
        Paths x nodes of one tracked quantity (a view, no copy).
        """
    @property
    def means(self) -> ForecastResult:
        ...
    @property
    def path_count(self) -> int:
        ...
    @property
    def tracked(self) -> list[typing.Any]:
        ...
def allocate(scenario: Scenario, node: str, target: typing.Any, method: str, horizon: typing.Any, weights: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], minimum: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], maximum: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], tolerance: typing.SupportsFloat | typing.SupportsIndex = 1e-12) -> dict[str, typing.Any]:
    ...
def apportion(total: typing.Any, weights: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> list[int]:
    ...
def backtest(log: typing.Any, cutoffs: collections.abc.Sequence[str], horizon: typing.SupportsInt | typing.SupportsIndex, quantities: collections.abc.Sequence[str], draws: typing.SupportsInt | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex, years: typing.SupportsInt | typing.SupportsIndex, levels: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], first: str, min_years: typing.SupportsInt | typing.SupportsIndex, drift: bool) -> dict[str, typing.Any]:
    """
    Rolling-origin backtest (backtest.hpp): one row per cut-off, quantity, method and node, as columns.
    """
def binomial_pmf(arg0: typing.SupportsInt | typing.SupportsIndex, arg1: typing.SupportsFloat | typing.SupportsIndex, arg2: typing.SupportsFloat | typing.SupportsIndex) -> tuple[int, list[float], float]:
    ...
def default_cutoffs(log: typing.Any, horizon: typing.SupportsInt | typing.SupportsIndex, min_years: typing.SupportsInt | typing.SupportsIndex, first: str) -> list[str]:
    ...
def example_district(year: typing.SupportsInt | typing.SupportsIndex = 2021) -> Scenario:
    ...
def example_history(seed: typing.Any, years: typing.Any, level_sd: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], year_sd: typing.SupportsFloat | typing.SupportsIndex, unit_drift_sd: typing.SupportsFloat | typing.SupportsIndex, transfer_out_share: typing.SupportsFloat | typing.SupportsIndex) -> dict[str, typing.Any]:
    ...
def fit_event_log(scenario: Scenario, log: typing.Any, first: str, last: str, quantile_low: typing.SupportsFloat | typing.SupportsIndex = 0.05, drift: bool = True) -> tuple[typing.Any, ...]:
    """
    fit_exposures of the event log's exposures over first..last (YYYY-MM), taken in 12-month blocks in C++.
    """
def fit_exposures(scenario: Scenario, start: str, months: typing.SupportsInt | typing.SupportsIndex, at_risk: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"]], advanced: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"]], exited: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"]], completing: collections.abc.Sequence[typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"]], arrivals: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"], transfers_in: typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"], quantile_low: typing.SupportsFloat | typing.SupportsIndex = 0.05, drift: bool = True) -> tuple[typing.Any, ...]:
    """
    Fits every rate with partial pooling (and the drift), sets the scenario's parameters to the predictive means and returns (rates, FitResult): one dict per (stage, param): data, centre, posterior shape/scale, kappa by depth, drift, mean, mle, quantiles.
    """
@typing.overload
def forecast_expected(scenario: Scenario, horizon: typing.SupportsInt | typing.SupportsIndex, threads: typing.SupportsInt | typing.SupportsIndex = 0) -> ForecastResult:
    """
    Expected-value forecast (exact means of the model).
    """
@typing.overload
def forecast_expected(scenario: Scenario, horizon: typing.SupportsInt | typing.SupportsIndex, options: ExpectedOptions) -> ForecastResult:
    """
    Expected-value forecast with ExpectedOptions.
    """
@typing.overload
def forecast_expected_mixture(scenario: Scenario, draws: ParameterDraws, horizon: typing.SupportsInt | typing.SupportsIndex) -> ForecastResult:
    """
    The mean forecast over the parameter sets (the predictive mixture's).
    """
@typing.overload
def forecast_expected_mixture(scenario: Scenario, draws: ParameterDraws, horizon: typing.SupportsInt | typing.SupportsIndex, options: ExpectedOptions) -> ForecastResult:
    """
    The same with ExpectedOptions.
    """
def funnel(pipeline: Pipeline, from_stage: typing.SupportsInt | typing.SupportsIndex, age: typing.SupportsInt | typing.SupportsIndex = 0, scenario: Scenario | None = None, unit: typing.SupportsInt | typing.SupportsIndex = 0) -> dict[str, typing.Any]:
    ...
def parameter_draws_from_state(state: collections.abc.Sequence[tuple[typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"], typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"], typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"], typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, n]"], typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, 1]"], typing.Annotated[numpy.typing.ArrayLike, numpy.float64, "[m, 1]"]]]) -> ParameterDraws:
    """
    ParameterDraws from parameter_draws_state's arrays.
    """
def parameter_draws_state(draws: ParameterDraws) -> list[tuple[typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, n]"], typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, n]"], typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, n]"], typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, n]"], typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, 1]"], typing.Annotated[numpy.typing.NDArray[numpy.float64], "[m, 1]"]]]:
    """
    Each set's advance, exit, pass_rate, attrition (units x stages), inflow, transfer_in (units).
    """
def philox4x64(counter: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"], key: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(2)"]) -> typing.Annotated[list[int], "FixedSize(4)"]:
    """
    Philox-4x64-10 of one counter and key (for known-answer tests).
    """
def poisson_pmf(arg0: typing.SupportsFloat | typing.SupportsIndex, arg1: typing.SupportsFloat | typing.SupportsIndex) -> tuple[int, list[float], float]:
    ...
def read_fit(scenario: Scenario, directory: str, quantile_low: typing.SupportsFloat | typing.SupportsIndex = 0.05) -> tuple[typing.Any, ...]:
    """
    Reads a fit written by write_fit for the scenario's organisation and pipeline; returns (rates, FitResult).
    """
@typing.overload
def simulate(scenario: Scenario, horizon: typing.Any, paths: typing.Any, seed: typing.Any, threads: typing.Any, keep_paths: bool, track: collections.abc.Sequence[tuple[str, typing.SupportsInt | typing.SupportsIndex, typing.SupportsInt | typing.SupportsIndex]], profile: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], uncertainty: collections.abc.Sequence[tuple[str, str, str, str, typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex]], course: tuple[typing.SupportsInt | typing.SupportsIndex, collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]] | None, target_rule: tuple[bool, typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex, typing.SupportsFloat | typing.SupportsIndex] | None, progress: typing.Any, parameter_sets: ParameterDraws | None = None, first_path: typing.Any = 0, regime: str = 'auto') -> SimulationResult:
    ...
@typing.overload
def simulate(scenario: Scenario, horizon: typing.Any, options: SimulationOptions, progress: typing.Any | None = None) -> SimulationResult:
    ...
def simulate_finish(scenario: Scenario, horizon: typing.Any, options: SimulationOptions, tallies: collections.abc.Sequence[bytes]) -> SimulationResult:
    ...
def simulate_history(start: Scenario, truth: collections.abc.Sequence[Scenario], seed: typing.Any, transfer_out_share: typing.SupportsFloat | typing.SupportsIndex) -> dict[str, typing.Any]:
    """
    The history simulated person by person from start (a January) with truth[k]'s parameters in year k (datasets::simulate_history, docs/history.md).
    """
def simulate_merge(tallies: collections.abc.Sequence[bytes]) -> bytes:
    """
    One tally (bytes) from the tallies of some batches of a run: merged where they are (a Dask worker).
    """
def simulate_tally(scenario: Scenario, horizon: typing.Any, options: SimulationOptions, progress: typing.Any | None = None) -> bytes:
    ...
def synthetic(fanout: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], kinds: collections.abc.Sequence[str], members_per_leaf: typing.SupportsFloat | typing.SupportsIndex, rural_share: typing.SupportsFloat | typing.SupportsIndex, seed: typing.SupportsInt | typing.SupportsIndex) -> Scenario:
    ...
def write_fit(fit: FitResult, directory: str) -> None:
    """
    Writes fit.json and its files (fit_io.hpp).
    """
def write_synthetic_history(directory: str, fanout: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], kinds: collections.abc.Sequence[str], members_per_leaf: typing.SupportsFloat | typing.SupportsIndex, rural_share: typing.SupportsFloat | typing.SupportsIndex, org_seed: typing.Any, seed: typing.Any, years: typing.Any, level_sd: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], year_sd: typing.SupportsFloat | typing.SupportsIndex, unit_drift_sd: typing.SupportsFloat | typing.SupportsIndex, transfer_out_share: typing.SupportsFloat | typing.SupportsIndex) -> dict[str, typing.Any]:
    ...
EVENT_NAMES: list[typing.Any] = ['admissions', 'confirmations', 'arrivals', 'exits', 'leavers']
NO_MAXIMUM: int = 9223372036854775807
PARAM_NAMES: list[typing.Any] = ['advance', 'exit', 'pass_rate', 'attrition', 'inflow', 'transfer_in']
__version__: str
