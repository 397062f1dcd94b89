// memberflow._core.fit_exposures: partial pooling of estimate.hpp over an exposure table
// given as numpy arrays (memberflow.records builds them from an event log), returning a
// FitResult; ExactMixture: the exact engine's predictive mixture over parameter sets
// drawn from a fit (exact.hpp).
#include <pybind11/eigen.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <unordered_map>

#include "bindings.hpp"
#include "memberflow/estimate.hpp"
#include "memberflow/exact.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/fit_io.hpp"
#include "memberflow/parallel.hpp"

namespace memberflow::python {

namespace {

std::vector<Eigen::ArrayXXd> per_stage(const std::vector<Eigen::MatrixXd>& arrays) {
  std::vector<Eigen::ArrayXXd> out;
  for (const auto& a : arrays) out.push_back(a.array());
  return out;
}

py::dict rate_to_python(const rate_fit& r, const pipeline& p) {
  using namespace pybind11::literals;
  py::list kappa;
  for (double k : r.kappa) kappa.append(k);
  return py::dict("stage"_a = p.stages()[r.stage].name, "param"_a = std::string(param_name(r.which)),
                  "probability"_a = r.is_probability, "events"_a = r.events, "exposure"_a = r.exposure,
                  "centre"_a = r.centre, "shape"_a = r.shape, "scale"_a = r.scale, "kappa"_a = kappa,
                  "drift_observed"_a = r.drift.observed, "drift_sampling_var"_a = r.drift.sampling_var,
                  "tau"_a = r.drift.tau, "shift_mean"_a = r.drift.shift_mean, "shift_var"_a = r.drift.shift_var);
}

// A fit with the organisation and pipeline it was made for.
struct bound_fit {
  fit_result fit;
  std::shared_ptr<const org> units;
  std::shared_ptr<const pipeline> model;

  std::shared_ptr<parameter_draws> draw(py::handle count, py::handle seed) const {
    const auto n = integer_arg<long long>(count, "draws", 1, 1'000'000);
    const auto s = integer_arg<std::uint64_t>(seed, "seed", 0, std::numeric_limits<std::uint64_t>::max());
    py::gil_scoped_release release;
    return std::make_shared<parameter_draws>(
        parameter_draws{draw_parameters(fit, *units, *model, static_cast<std::size_t>(n), s)});
  }
};

node_distributions released(const std::function<node_distributions()>& f) {
  py::gil_scoped_release release;
  return f();
}

// Fits `x` into `target` (its parameters become the predictive means) and returns
// (rates, FitResult): one dict per (stage, param) with each unit's data, centre,
// posterior, mean, mle and quantiles. The per-unit figures are computed with the GIL
// released, the rates shared between threads (nationally 300,000 units x 8 rates x 2
// quantiles, each an inverse incomplete beta or gamma function).
py::tuple describe(std::shared_ptr<scenario> target, fit_result fit, double quantile_low);

py::tuple fit_into(std::shared_ptr<scenario> target, const exposure_table& x, double quantile_low, bool drift) {
  fit_result fit;
  {
    py::gil_scoped_release release;
    fit_options options;
    options.drift = drift;
    fit = fit_pooled(x, target->units(), target->model(), options);
    target->params = fit.means(target->units(), target->model());
    target->params.defaults_source = "fitted by memberflow.estimate (no data: the stage default)";
  }
  return describe(std::move(target), std::move(fit), quantile_low);
}

// (rates, FitResult) of a fit made for `target`'s organisation and pipeline.
py::tuple describe(std::shared_ptr<scenario> target, fit_result fit, double quantile_low) {
  struct unit_figures {
    Eigen::ArrayXd lo, hi, mean, next, mle;
  };
  std::vector<unit_figures> figures;
  {
    py::gil_scoped_release release;
    figures.resize(fit.rates.size());
    detail::for_each_item(fit.rates.size(), [&](std::size_t j) {
      const auto& r = fit.rates[j];
      const auto n = r.shape.size();
      auto& f = figures[j];
      for (auto* a : {&f.lo, &f.hi, &f.mean, &f.next, &f.mle}) a->resize(n);
      // Units with the same posterior share its quantiles and predictive mean.
      std::unordered_map<std::pair<double, double>, Eigen::Index, detail::posterior_hash> seen;
      for (Eigen::Index u = 0; u < n; ++u) {
        const auto ui = static_cast<unit_index>(u);
        f.mean(u) = r.mean(ui);
        f.mle(u) = r.mle(ui);
        if (!r.no_data) {
          const auto [it, fresh] = seen.try_emplace({r.shape(u), r.scale(u)}, u);
          if (!fresh) {
            f.lo(u) = f.lo(it->second), f.hi(u) = f.hi(it->second), f.next(u) = f.next(it->second);
            continue;
          }
        }
        f.lo(u) = r.quantile(ui, quantile_low);
        f.hi(u) = r.quantile(ui, 1 - quantile_low);
        f.next(u) = r.predictive_mean(ui);
      }
    });
  }
  py::list rates;
  for (std::size_t j = 0; j < fit.rates.size(); ++j) {
    auto d = rate_to_python(fit.rates[j], target->model());
    d["lo"] = figures[j].lo;
    d["hi"] = figures[j].hi;
    d["mean"] = figures[j].mean;
    d["predictive"] = figures[j].next;
    d["mle"] = figures[j].mle;
    rates.append(d);
  }
  auto bound = std::make_shared<bound_fit>(bound_fit{std::move(fit), target->organisation, target->stages});
  return py::make_tuple(rates, bound);
}

}  // namespace

void register_estimate(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<parameter_draws, std::shared_ptr<parameter_draws>>(m, "ParameterDraws")
      .def("__len__", [](const parameter_draws& d) { return d.sets.size(); });
  m.def(
      "forecast_expected_mixture",
      [](const scenario& s, const parameter_draws& draws, int horizon) {
        py::gil_scoped_release release;
        return std::make_shared<forecast_result>(forecast_expected(s, draws.sets, horizon));
      },
      "scenario"_a, "draws"_a, "horizon"_a, "The mean forecast over the parameter sets (the predictive mixture's).");
  m.def(
      "forecast_expected_mixture",
      [](const scenario& s, const parameter_draws& draws, int horizon, const expected_options& options) {
        py::gil_scoped_release release;
        return std::make_shared<forecast_result>(forecast_expected(s, draws.sets, horizon, options));
      },
      "scenario"_a, "draws"_a, "horizon"_a, "options"_a, "The same with ExpectedOptions.");
  py::class_<bound_fit, std::shared_ptr<bound_fit>>(m, "FitResult")
      .def_property_readonly("first", [](const bound_fit& f) { return f.fit.first.str(); })
      .def_property_readonly("last", [](const bound_fit& f) { return f.fit.last.str(); })
      .def("draw", &bound_fit::draw, "count"_a, "seed"_a,
           "Parameter sets drawn from the predictive distribution (draw_parameters).")
      .def(
          "seasonal",
          [](const bound_fit& f, double quantile_low) {
            const auto& s = f.fit.seasonal;
            std::vector<double> factor, lo, hi;
            for (int m = 0; !s.empty() && m < 12; ++m) {
              factor.push_back(s.factor(m));
              lo.push_back(s.quantile(m, quantile_low));
              hi.push_back(s.quantile(m, 1 - quantile_low));
            }
            return py::dict("arrivals"_a = s.arrivals, "kappa"_a = s.kappa, "factor"_a = factor, "lo"_a = lo,
                            "hi"_a = hi);
          },
          "quantile_low"_a, "The seasonal profile of arrivals by calendar month (empty lists without one).")
      .def(
          "profile",
          [](const bound_fit& f, const std::string& start) {
            return f.fit.seasonal.profile(calendar_month::parse(start, "profile: start"));
          },
          "start"_a, "The seasonal factors month by month from `start` (YYYY-MM), one year.");
  py::class_<exact_mixture, std::shared_ptr<exact_mixture>>(m, "ExactMixture")
      .def(py::init([](const scenario& s, const parameter_draws& draws, py::object horizon,
                       const exact_options& options) {
             const int h = integer_arg<int>(horizon, "horizon", std::numeric_limits<int>::min(),
                                            std::numeric_limits<int>::max());
             py::gil_scoped_release release;
             return std::make_shared<exact_mixture>(s, draws.sets, h, options);
           }),
           "scenario"_a, "draws"_a, "horizon"_a, "options"_a)
      .def(py::init([](const scenario& s, const parameter_draws& draws, py::object horizon, double tolerance) {
             const int h = integer_arg<int>(horizon, "horizon", std::numeric_limits<int>::min(),
                                            std::numeric_limits<int>::max());
             py::gil_scoped_release release;
             return std::make_shared<exact_mixture>(s, draws.sets, h, exact_options{.tolerance = tolerance});
           }),
           "scenario"_a, "draws"_a, "horizon"_a, "tolerance"_a = exact_options{}.tolerance)
      .def_property_readonly("draws", &exact_mixture::size)
      .def(
          "events",
          [](const exact_mixture& f, const std::string& event, int first, int last) {
            return pmfs_to_python(released([&] { return f.events(event, {first, last}); }).nodes);
          },
          "event"_a, "first"_a, "last"_a)
      .def(
          "stock",
          [](const exact_mixture& f, const std::string& stage, int month) {
            return pmfs_to_python(released([&] { return f.stock(stage, month); }).nodes);
          },
          "stage"_a, "month"_a);
  m.def(
      "fit_exposures",
      [](std::shared_ptr<scenario> target, const std::string& start, int months,
         const std::vector<Eigen::MatrixXd>& at_risk, const std::vector<Eigen::MatrixXd>& advanced,
         const std::vector<Eigen::MatrixXd>& exited, const std::vector<Eigen::MatrixXd>& completing,
         const Eigen::MatrixXd& arrivals, const Eigen::MatrixXd& transfers_in, double quantile_low, bool drift) {
        exposure_table x;
        x.start = calendar_month::parse(start, "fit: start");
        x.months = months;
        x.at_risk = per_stage(at_risk);
        x.advanced = per_stage(advanced);
        x.exited = per_stage(exited);
        x.completing = per_stage(completing);
        x.arrivals = arrivals.array();
        x.transfers_in = transfers_in.array();
        return fit_into(std::move(target), x, quantile_low, drift);
      },
      "scenario"_a, "start"_a, "months"_a, "at_risk"_a, "advanced"_a, "exited"_a, "completing"_a, "arrivals"_a,
      "transfers_in"_a, "quantile_low"_a = 0.05, "drift"_a = true,
      "Fits every rate with partial pooling (and the drift), sets the scenario's parameters to the predictive "
      "means and returns (rates, FitResult): one dict per (stage, param): data, centre, posterior shape/scale, "
      "kappa by depth, drift, mean, mle, quantiles.");
  m.def(
      "fit_event_log",
      [](std::shared_ptr<scenario> target, py::handle log, const std::string& first, const std::string& last,
         double quantile_low, bool drift) {
        const auto& l = core_event_log(log);
        exposure_table x;
        {
          py::gil_scoped_release release;
          // In 12-month blocks counted back from `last`: all that the fit reads (unit totals
          // over the window, the organisation's yearly and monthly totals), at a twelfth of
          // the memory of a monthly table (0.2 GB nationally instead of 2.6 GB).
          x = exposures(l, calendar_month::parse(first, "estimate: first"), calendar_month::parse(last, "estimate: last"),
                        12);
        }
        return fit_into(std::move(target), x, quantile_low, drift);
      },
      "scenario"_a, "log"_a, "first"_a, "last"_a, "quantile_low"_a = 0.05, "drift"_a = true,
      "fit_exposures of the event log's exposures over first..last (YYYY-MM), taken in 12-month blocks in C++.");
  m.def(
      "write_fit",
      [](const bound_fit& f, const std::string& directory) { write_fit(f.fit, *f.units, *f.model, directory); },
      "fit"_a, "directory"_a, "Writes fit.json and its files (fit_io.hpp).");
  m.def(
      "read_fit",
      [](std::shared_ptr<scenario> target, const std::string& directory, double quantile_low) {
        fit_result fit;
        {
          py::gil_scoped_release release;
          fit = read_fit(directory, target->units(), target->model());
        }
        return describe(std::move(target), std::move(fit), quantile_low);
      },
      "scenario"_a, "directory"_a, "quantile_low"_a = 0.05,
      "Reads a fit written by write_fit for the scenario's organisation and pipeline; returns (rates, FitResult).");
}

}  // namespace memberflow::python
