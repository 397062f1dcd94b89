// memberflow._core.fit_exposures: partial pooling of estimate.hpp over an exposure table
// given as numpy arrays (memberflow.records builds them from an event log), returning a
// FitResult; ExactMixture: the exact engine's predictive mixture over parameter sets
// drawn from a fit (exact.hpp).
#include <pybind11/eigen.h>

#include <functional>
#include <limits>

#include "bindings.hpp"
#include "memberflow/estimate.hpp"
#include "memberflow/exact.hpp"

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

}  // namespace

void register_estimate(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<parameter_draws, std::shared_ptr<parameter_draws>>(m, "ParameterDraws")
      .def("__len__", [](const parameter_draws& d) { return d.sets.size(); });
  py::class_<bound_fit, std::shared_ptr<bound_fit>>(m, "FitResult")
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
      .def(py::init([](const scenario& s, const parameter_draws& draws, py::object horizon, double tolerance) {
             const int h = integer_arg<int>(horizon, "horizon", std::numeric_limits<int>::min(),
                                            std::numeric_limits<int>::max());
             py::gil_scoped_release release;
             return std::make_shared<exact_mixture>(s, draws.sets, h, tolerance);
           }),
           "scenario"_a, "draws"_a, "horizon"_a, "tolerance"_a = 1e-12)
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
        fit_result fit;
        {
          py::gil_scoped_release release;
          fit_options options;
          options.drift = drift;
          fit = fit_pooled(x, target->units(), target->model(), options);
          target->params = fit.means(target->units(), target->model());
          target->params.defaults_source = "fitted by memberflow.estimate (no data: the stage default)";
        }
        py::list rates;
        for (const auto& r : fit.rates) {
          auto d = rate_to_python(r, target->model());
          Eigen::ArrayXd lo(r.shape.size()), hi(r.shape.size()), mean(r.shape.size()), mle(r.shape.size()),
              next(r.shape.size());
          for (Eigen::Index u = 0; u < r.shape.size(); ++u) {
            const auto ui = static_cast<unit_index>(u);
            lo(u) = r.quantile(ui, quantile_low);
            hi(u) = r.quantile(ui, 1 - quantile_low);
            mean(u) = r.mean(ui);
            next(u) = r.predictive_mean(ui);
            mle(u) = r.mle(ui);
          }
          d["lo"] = lo;
          d["hi"] = hi;
          d["mean"] = mean;
          d["predictive"] = next;
          d["mle"] = mle;
          rates.append(d);
        }
        auto bound = std::make_shared<bound_fit>(bound_fit{std::move(fit), target->organisation, target->stages});
        return py::make_tuple(rates, bound);
      },
      "scenario"_a, "start"_a, "months"_a, "at_risk"_a, "advanced"_a, "exited"_a, "completing"_a, "arrivals"_a,
      "transfers_in"_a, "quantile_low"_a = 0.05, "drift"_a = true,
      "Fits every rate with partial pooling (and the drift), sets the scenario's parameters to the predictive "
      "means and returns (rates, FitResult): one dict per (stage, param): data, centre, posterior shape/scale, "
      "kappa by depth, drift, mean, mle, quantiles.");
}

}  // namespace memberflow::python
