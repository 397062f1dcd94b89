// memberflow._core.Scenario: org + pipeline + per-unit parameters, stocks and targets.
// The arrays are exposed as writable numpy views of the C++ storage (no copies), so a
// notebook can adjust a parameter in place; validate() runs before every forecast.
#include "bindings.hpp"
#include "memberflow/replace.hpp"
#include "memberflow/scenario.hpp"
#include "memberflow/scenario_io.hpp"

namespace memberflow::python {

namespace {
// Rows are named by their 1-based position and, unless the index is the default, the
// DataFrame's index label.
text_table columns_table(const std::string& source, const std::vector<std::string>& names,
                         const std::vector<std::vector<std::string>>& columns, const std::vector<std::string>& labels) {
  return table_from_columns(source, names, columns, 1, labels);
}
}  // namespace

void register_scenario(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<scenario, std::shared_ptr<scenario>>(m, "Scenario", "C++ core scenario (use memberflow.Scenario).")
      .def(py::init([](std::shared_ptr<org> o, std::shared_ptr<pipeline> p) {
             return std::make_shared<scenario>(std::move(o), std::move(p));
           }),
           "org"_a, "pipeline"_a)
      .def_static("read_dir",
                  [](const std::string& path, const std::string& units, const std::string& overseers,
                     const std::string& params, const std::string& stocks, const std::string& targets) {
                    std::vector<std::string> warnings;
                    auto sc = std::make_shared<scenario>(
                        read_scenario(path, scenario_files{units, overseers, params, stocks, targets}, &warnings));
                    return py::make_tuple(sc, warnings);
                  },
                  "path"_a, "units"_a = "", "overseers"_a = "", "params"_a = "", "stocks"_a = "", "targets"_a = "",
                  "A scenario directory (or manifest) with optional loose-file overrides -> (scenario, warnings).")
      .def("write_dir",
           [](const scenario& s, const std::string& directory) {
             const auto f = write_scenario(s, directory);
             return py::dict("units"_a = f.units, "overseers"_a = f.overseers, "params"_a = f.params,
                             "stocks"_a = f.stocks, "targets"_a = f.targets);
           },
           "directory"_a)
      .def("explain_columns",
           [](const scenario& s, const std::vector<std::string>& ids) {
             std::vector<unit_index> units;
             for (const auto& id : ids) units.push_back(s.units().index(id));
             return table_to_columns(s.params.explain(s.units(), s.model(), units));
           },
           "unit_ids"_a)
      .def_property(
          "start", [](const scenario& s) { return s.start ? py::object(py::str(s.start->str())) : py::object(py::none()); },
          [](scenario& s, const std::optional<std::string>& text) {
            if (text) s.start = calendar_month::parse(*text, "start");
            else s.start.reset();
          },
          "The calendar month of month 0 as 'YYYY-MM', or None.")
      .def_property_readonly("org", [](const scenario& s) { return std::const_pointer_cast<org>(s.organisation); })
      .def_property_readonly("pipeline", [](const scenario& s) { return std::const_pointer_cast<pipeline>(s.stages); })
      .def("apply_params_columns",
           [](scenario& s, const std::string& source, const std::vector<std::string>& names,
              const std::vector<std::vector<std::string>>& columns, const std::vector<std::string>& labels) {
             return s.params.apply(columns_table(source, names, columns, labels), s.units(), s.model());
           },
           "source"_a, "names"_a, "columns"_a, "labels"_a = std::vector<std::string>{})
      .def("apply_params_csv", [](scenario& s, const std::string& path) { return s.params.apply(read_csv(path), s.units(), s.model()); },
           "path"_a)
      .def("params_columns", [](const scenario& s) { return table_to_columns(s.params.to_table(s.units(), s.model())); })
      .def("set_stocks_columns",
           [](scenario& s, const std::string& source, const std::vector<std::string>& names,
              const std::vector<std::vector<std::string>>& columns, const std::vector<std::string>& labels) {
             s.stocks = stocks_from_table(columns_table(source, names, columns, labels), s.units(), s.model());
           },
           "source"_a, "names"_a, "columns"_a, "labels"_a = std::vector<std::string>{})
      .def("set_stocks_csv", [](scenario& s, const std::string& path) { s.stocks = stocks_from_table(read_csv(path), s.units(), s.model()); },
           "path"_a)
      .def("stocks_columns", [](const scenario& s) { return table_to_columns(stocks_to_table(s.stocks, s.units(), s.model())); })
      .def("set_targets_columns",
           [](scenario& s, const std::string& source, const std::vector<std::string>& names,
              const std::vector<std::vector<std::string>>& columns, const std::vector<std::string>& labels) {
             s.targets = targets_from_table(columns_table(source, names, columns, labels), s.units());
           },
           "source"_a, "names"_a, "columns"_a, "labels"_a = std::vector<std::string>{})
      .def("set_targets_csv", [](scenario& s, const std::string& path) { s.targets = targets_from_table(read_csv(path), s.units()); },
           "path"_a)
      .def_property_readonly("stocks", [](py::object self) { return view(self.cast<scenario&>().stocks, self, true); },
                             "Units x state slots (writable view).")
      .def_property_readonly("targets", [](py::object self) { return view(self.cast<scenario&>().targets, self, true); })
      .def("param_array",
           [](py::object self, const std::string& name) -> py::array_t<double> {
             auto& ps = self.cast<scenario&>().params;
             switch (param_from_name(name)) {
               case param::advance: return view(ps.advance, self, true);
               case param::exit: return view(ps.exit, self, true);
               case param::pass_rate: return view(ps.pass_rate, self, true);
               case param::attrition: return view(ps.attrition, self, true);
               case param::inflow: return view(ps.inflow, self, true);
               case param::transfer_in: return view(ps.transfer_in, self, true);
             }
             throw unknown_id(name);
           },
           "param"_a, "Units x stages (inflow, transfer_in: units) writable view of one parameter.")
      .def("replace",
           [](const scenario& s,
              const std::vector<std::tuple<std::string, std::string, std::string, std::string, double,
                                           std::optional<int>>>& rows) {
             std::vector<change> changes;
             changes.reserve(rows.size());
             for (const auto& [scope, stage, what, op, value, month] : rows)
               changes.push_back({scope, stage, what, change_op_from_name(op), value, month});
             return std::make_shared<scenario>(replace(s, changes));
           },
           "changes"_a,
           "A copy with the changes (scope, stage, what, op, value, month_in_stage) applied in order; the "
           "organisation and pipeline are shared (see memberflow/replace.hpp).")
      .def("shares_parts_with",
           [](const scenario& a, const scenario& b) {
             return a.organisation == b.organisation && a.stages == b.stages;
           },
           "other"_a, "Whether both scenarios hold the same organisation and pipeline objects (not copies).")
      .def("validate", &scenario::validate);
}

}  // namespace memberflow::python
