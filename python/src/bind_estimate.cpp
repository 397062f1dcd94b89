// memberflow._core.fit_exposures: partial pooling of estimate.hpp over an exposure table
// given as numpy arrays (memberflow.records builds them from an event log).
#include <pybind11/eigen.h>

#include "bindings.hpp"
#include "memberflow/estimate.hpp"

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
                  "centre"_a = r.centre, "shape"_a = r.shape, "scale"_a = r.scale, "kappa"_a = kappa);
}

}  // namespace

void register_estimate(py::module_& m) {
  using namespace pybind11::literals;
  m.def(
      "fit_exposures",
      [](std::shared_ptr<scenario> target, const std::string& start, int months,
         const std::vector<Eigen::MatrixXd>& at_risk, const std::vector<Eigen::MatrixXd>& advanced,
         const std::vector<Eigen::MatrixXd>& exited, const std::vector<Eigen::MatrixXd>& completing,
         const Eigen::MatrixXd& arrivals, const Eigen::MatrixXd& transfers_in, double quantile_low) {
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
          fit = fit_pooled(x, target->units(), target->model());
          target->params = fit.means(target->units(), target->model());
          target->params.defaults_source = "fitted by memberflow.estimate (no data: the stage default)";
        }
        py::list rates;
        for (const auto& r : fit.rates) {
          auto d = rate_to_python(r, target->model());
          Eigen::ArrayXd lo(r.shape.size()), hi(r.shape.size()), mean(r.shape.size()), mle(r.shape.size());
          for (Eigen::Index u = 0; u < r.shape.size(); ++u) {
            const auto ui = static_cast<unit_index>(u);
            lo(u) = r.quantile(ui, quantile_low);
            hi(u) = r.quantile(ui, 1 - quantile_low);
            mean(u) = r.mean(ui);
            mle(u) = r.mle(ui);
          }
          d["lo"] = lo;
          d["hi"] = hi;
          d["mean"] = mean;
          d["mle"] = mle;
          rates.append(d);
        }
        return rates;
      },
      "scenario"_a, "start"_a, "months"_a, "at_risk"_a, "advanced"_a, "exited"_a, "completing"_a, "arrivals"_a,
      "transfers_in"_a, "quantile_low"_a = 0.05,
      "Fits every rate with partial pooling, sets the scenario's parameters to the posterior means and returns "
      "one dict per (stage, param): data, centre, posterior shape/scale, kappa by depth, mean, mle, quantiles.");
}

}  // namespace memberflow::python
