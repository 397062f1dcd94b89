// memberflow._core.backtest: the rolling-origin backtest of backtest.hpp over a core
// EventLog, returned as columns (numpy arrays and lists) for memberflow.backtest's frame.
#include "bindings.hpp"
#include "memberflow/backtest.hpp"

namespace memberflow::python {

namespace {

py::dict rows_to_columns(const backtest_result& r) {
  using namespace pybind11::literals;
  const auto n = static_cast<py::ssize_t>(r.rows.size());
  const auto levels = static_cast<py::ssize_t>(r.levels.size());
  std::vector<std::string> cutoff, method, quantity;
  std::vector<unit_index> unit;
  py::array_t<int> depth(n), years(n);
  py::array_t<double> actual(n), mean(n), abs_error(n), crps_(n), pit_lo(n), pit_hi(n), dispersion(n);
  py::array_t<long long> median(n), lo({n, levels}), hi({n, levels});
  py::array_t<bool> inside({n, levels});
  auto d = depth.mutable_unchecked<1>(), yr = years.mutable_unchecked<1>();
  auto a = actual.mutable_unchecked<1>(), mn = mean.mutable_unchecked<1>(), ae = abs_error.mutable_unchecked<1>(),
       cr = crps_.mutable_unchecked<1>(), pl = pit_lo.mutable_unchecked<1>(), ph = pit_hi.mutable_unchecked<1>(),
       ds = dispersion.mutable_unchecked<1>();
  auto md = median.mutable_unchecked<1>();
  auto l = lo.mutable_unchecked<2>(), h = hi.mutable_unchecked<2>();
  auto in = inside.mutable_unchecked<2>();
  for (py::ssize_t i = 0; i < n; ++i) {
    const auto& row = r.rows[static_cast<std::size_t>(i)];
    cutoff.push_back(row.cutoff.str());
    method.push_back(row.method);
    quantity.push_back(row.quantity);
    unit.push_back(row.unit);
    d(i) = row.depth, yr(i) = row.years, a(i) = row.actual, mn(i) = row.mean, ae(i) = row.abs_error;
    cr(i) = row.crps, pl(i) = row.pit_lo, ph(i) = row.pit_hi, ds(i) = row.dispersion, md(i) = row.median;
    for (py::ssize_t j = 0; j < levels; ++j) {
      const auto k = static_cast<std::size_t>(j);
      l(i, j) = row.lo[k], h(i, j) = row.hi[k], in(i, j) = row.inside[k];
    }
  }
  return py::dict("levels"_a = r.levels, "cutoff"_a = cutoff, "unit"_a = unit, "depth"_a = depth, "method"_a = method,
                  "quantity"_a = quantity, "years"_a = years, "actual"_a = actual, "mean"_a = mean,
                  "median"_a = median, "lo"_a = lo, "hi"_a = hi, "abs_error"_a = abs_error, "crps"_a = crps_,
                  "inside"_a = inside, "pit_lo"_a = pit_lo, "pit_hi"_a = pit_hi, "dispersion"_a = dispersion);
}

}  // namespace

void register_backtest(py::module_& m) {
  using namespace pybind11::literals;
  m.def(
      "backtest",
      [](py::handle log_handle, const std::vector<std::string>& cutoffs, int horizon,
         const std::vector<std::string>& quantities, std::size_t draws, std::uint64_t seed, int years,
         const std::vector<double>& levels, const std::string& first, int min_years, bool drift) {
        const event_log& log = core_event_log(log_handle);
        backtest_options o;
        o.horizon = horizon;
        o.quantities = quantities;
        o.draws = draws;
        o.seed = seed;
        o.years = years;
        o.levels = levels;
        o.min_years = min_years;
        o.drift = drift;
        if (!first.empty()) o.first = calendar_month::parse(first, "backtest: first");
        std::vector<calendar_month> cs;
        for (const auto& c : cutoffs) cs.push_back(calendar_month::parse(c, "backtest: cut-off"));
        backtest_result r;
        {
          py::gil_scoped_release release;
          r = backtest(log, cs, o);
        }
        return rows_to_columns(r);
      },
      "log"_a, "cutoffs"_a, "horizon"_a, "quantities"_a, "draws"_a, "seed"_a, "years"_a, "levels"_a, "first"_a,
      "min_years"_a, "drift"_a,
      "Rolling-origin backtest (backtest.hpp): one row per cut-off, quantity, method and node, as columns.");
  m.def(
      "default_cutoffs",
      [](py::handle log_handle, int horizon, int min_years, const std::string& first) {
        backtest_options o;
        o.horizon = horizon;
        o.min_years = min_years;
        if (!first.empty()) o.first = calendar_month::parse(first, "backtest: first");
        std::vector<std::string> out;
        for (const auto& c : default_cutoffs(core_event_log(log_handle), o)) out.push_back(c.str());
        return out;
      },
      "log"_a, "horizon"_a, "min_years"_a, "first"_a);
}

}  // namespace memberflow::python
