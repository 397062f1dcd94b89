// memberflow._core.EventLog: the event log reader of records.hpp. The Python layer
// (memberflow.records) turns its columns and arrays into DataFrames.
#include "bindings.hpp"
#include "memberflow/estimate_counts.hpp"
#include "memberflow/records.hpp"

namespace memberflow::python {

namespace {

// The log with what Python needs to show its quarantined rows: the table's columns and
// how it counts rows ("line" for a file, "row" for a DataFrame).
struct py_event_log {
  event_log log;
  std::vector<std::string> columns;
  std::string noun;
};

std::shared_ptr<py_event_log> make_log(const text_table& t, std::shared_ptr<const org> o,
                                       std::shared_ptr<const pipeline> p, bool quarantine) {
  return std::make_shared<py_event_log>(py_event_log{event_log(t, std::move(o), std::move(p), read_options{quarantine}),
                                                     t.columns, t.noun});
}

struct py_count_table {
  count_table counts;
  std::vector<std::string> columns;
  std::string noun;
};

std::shared_ptr<py_count_table> make_counts(const text_table& t, const org& o, const pipeline& p, bool quarantine) {
  return std::make_shared<py_count_table>(
      py_count_table{count_table(t, o, p, read_options{quarantine}), t.columns, t.noun});
}

// Without an owner (a null handle) numpy copies the data: x dies on return.
py::list arrays(const std::vector<Eigen::ArrayXXd>& per_stage) {
  py::list out;
  for (const auto& a : per_stage) out.append(view(a, py::handle()));
  return out;
}

}  // namespace

const event_log& core_event_log(py::handle core_log) {
  if (!py::isinstance<py_event_log>(core_log))
    throw input_error("expected a memberflow._core.EventLog (use memberflow.EventLog), got " +
                      py::str(py::type::of(core_log)).cast<std::string>());
  return core_log.cast<const py_event_log&>().log;
}

void register_records(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<py_event_log, std::shared_ptr<py_event_log>>(m, "EventLog",
                                                          "C++ core event log (use memberflow.EventLog).")
      .def_static("read_csv",
                  [](const std::string& path, std::shared_ptr<org> o, std::shared_ptr<pipeline> p, bool quarantine) {
                    return make_log(read_csv(path), std::move(o), std::move(p), quarantine);
                  },
                  "path"_a, "org"_a, "pipeline"_a, "quarantine"_a = false)
      .def_static("from_columns",
                  [](const std::string& source, const std::vector<std::string>& names,
                     const std::vector<std::vector<std::string>>& columns, const std::vector<std::string>& labels,
                     std::shared_ptr<org> o, std::shared_ptr<pipeline> p, bool quarantine) {
                    return make_log(table_from_columns(source, names, columns, 1, labels), std::move(o), std::move(p),
                                    quarantine);
                  },
                  "source"_a, "names"_a, "columns"_a, "labels"_a, "org"_a, "pipeline"_a, "quarantine"_a = false)
      .def_property_readonly("rows_read", [](const py_event_log& l) { return l.log.rows_read(); })
      .def_property_readonly("events_used", [](const py_event_log& l) { return l.log.events().size(); })
      .def_property_readonly("columns", [](const py_event_log& l) { return l.columns; })
      .def_property_readonly("noun", [](const py_event_log& l) { return l.noun; })
      .def("quarantined",
           [](const py_event_log& l) {
             py::list lines, reasons, cells;
             for (const auto& q : l.log.quarantined()) {
               lines.append(q.line);
               reasons.append(q.reason);
               cells.append(q.cells);
             }
             return py::make_tuple(lines, reasons, cells);
           },
           "(lines, reasons, cells of each row) of the rows set aside.")
      .def_property_readonly("first_month", [](const py_event_log& l) { return l.log.first_month().str(); })
      .def_property_readonly("complete_from", [](const py_event_log& l) { return l.log.complete_from().str(); })
      .def_property_readonly("last_month", [](const py_event_log& l) { return l.log.last_month().str(); })
      .def("snapshot_columns",
           [](const py_event_log& l, const std::string& month) {
             const auto stocks = l.log.stocks_at(calendar_month::parse(month, "snapshot"));
             return table_to_columns(stocks_to_table(stocks, l.log.units(), l.log.model()));
           },
           "month"_a, "The stocks table (unit_id, stage, count, months_in_stage) at the start of a month YYYY-MM.")
      .def("people_columns",
           [](const py_event_log& l, const std::string& month) {
             return table_to_columns(l.log.people_at(calendar_month::parse(month, "people")));
           },
           "month"_a, "person_id, unit_id, stage, months_in_stage at the start of a month YYYY-MM.")
      .def("stocks_at",
           [](const py_event_log& l, const std::string& month) {
             const auto stocks = l.log.stocks_at(calendar_month::parse(month, "stocks_at"));
             return view(stocks, py::handle());
           },
           "month"_a, "Units x state slots at the start of a month YYYY-MM.")
      .def("exposures",
           [](const py_event_log& l, const std::string& first, const std::string& last, int block) {
             const auto x = exposures(l.log, calendar_month::parse(first, "exposures: first"),
                                      calendar_month::parse(last, "exposures: last"), block);
             return py::dict("start"_a = x.start.str(), "months"_a = x.months, "block"_a = x.block,
                             "at_risk"_a = arrays(x.at_risk),
                             "advanced"_a = arrays(x.advanced), "exited"_a = arrays(x.exited),
                             "completing"_a = arrays(x.completing),
                             "arrivals"_a = view(x.arrivals, py::handle()),
                             "transfers_in"_a = view(x.transfers_in, py::handle()));
           },
           "first"_a, "last"_a, "block"_a = 1,
           "Units x months arrays per stage (copies), months first..last (YYYY-MM); with block > 1, units x "
           "blocks of that many months ending with `last`.");

  py::class_<py_count_table, std::shared_ptr<py_count_table>>(m, "CountTable",
                                                              "C++ core aggregate counts (use memberflow.CountTable).")
      .def_static("read_csv",
                  [](const std::string& path, const org& o, const pipeline& p, bool quarantine) {
                    return make_counts(read_csv(path), o, p, quarantine);
                  },
                  "path"_a, "org"_a, "pipeline"_a, "quarantine"_a = false)
      .def_static("from_columns",
                  [](const std::string& source, const std::vector<std::string>& names,
                     const std::vector<std::vector<std::string>>& columns, const std::vector<std::string>& labels,
                     const org& o, const pipeline& p, bool quarantine) {
                    return make_counts(table_from_columns(source, names, columns, 1, labels), o, p, quarantine);
                  },
                  "source"_a, "names"_a, "columns"_a, "labels"_a, "org"_a, "pipeline"_a, "quarantine"_a = false)
      .def_property_readonly("rows_read", [](const py_count_table& c) { return c.counts.rows_read; })
      .def_property_readonly("columns", [](const py_count_table& c) { return c.columns; })
      .def_property_readonly("noun", [](const py_count_table& c) { return c.noun; })
      .def("quarantined",
           [](const py_count_table& c) {
             py::list lines, reasons, cells;
             for (const auto& q : c.counts.quarantined) {
               lines.append(q.line);
               reasons.append(q.reason);
               cells.append(q.cells);
             }
             return py::make_tuple(lines, reasons, cells);
           })
      .def("arrays",
           [](const py_count_table& c) {
             const auto& t = c.counts;
             std::vector<unit_index> units;
             std::vector<long> first, months;
             for (const auto& p : t.periods) {
               units.push_back(p.unit);
               first.push_back(p.first);
               months.push_back(p.months);
             }
             return py::dict("unit"_a = units, "first"_a = first, "months"_a = months,
                             "start"_a = view(t.start, py::handle()), "entries"_a = view(t.entries, py::handle()),
                             "exits"_a = view(t.exits, py::handle()), "end"_a = view(t.end, py::handle()),
                             "not_confirmed"_a = view(t.not_confirmed, py::handle()),
                             "transfers_in"_a = view(t.transfers_in, py::handle()),
                             "transfers_out"_a = view(t.transfers_out, py::handle()));
           },
           "Per period used: unit index, first month index, months; periods x stages arrays (copies).")
      .def("exposures",
           [](const py_count_table& c, const org& o, const pipeline& p, const std::string& first,
              const std::string& last, const std::string& approximation) {
             count_options options;
             if (approximation == "trapezoid") options.approximation = count_approximation::trapezoid;
             else if (approximation == "matched") options.approximation = count_approximation::matched;
             else if (approximation != "model")
               throw input_error("approximation must be 'model', 'matched' or 'trapezoid', got '" + approximation +
                                 "'");
             count_fit f;
             {
               py::gil_scoped_release release;
               fit_options fitting;
               fitting.drift = false;  // the exposures do not depend on it; the caller fits with it
               f = fit_counts(c.counts, o, p, calendar_month::parse(first, "estimate: first"),
                              calendar_month::parse(last, "estimate: last"), fitting, options);
             }
             const auto& x = f.exposures;
             return py::dict("start"_a = x.start.str(), "months"_a = x.months, "at_risk"_a = arrays(x.at_risk),
                             "advanced"_a = arrays(x.advanced), "exited"_a = arrays(x.exited),
                             "completing"_a = arrays(x.completing), "arrivals"_a = view(x.arrivals, py::handle()),
                             "transfers_in"_a = view(x.transfers_in, py::handle()), "block"_a = 1,
                             "iterations"_a = f.iterations);
           },
           "org"_a, "pipeline"_a, "first"_a, "last"_a, "approximation"_a = "model",
           "The exposure table the counts imply over months first..last (YYYY-MM), as EventLog.exposures, "
           "with the person-months reconstructed under the model (EM with the pooled fit) or by the trapezoid.")
      .def("snapshot_columns",
           [](const py_count_table& c, const org& o, const pipeline& p, const std::string& month) {
             const auto stocks = count_stocks(c.counts, o, p, calendar_month::parse(month, "snapshot"));
             return table_to_columns(stocks_to_table(stocks, o, p));
           },
           "org"_a, "pipeline"_a, "month"_a,
           "The stocks table (unit_id, stage, count, months_in_stage) at the start of a month YYYY-MM.");
}

}  // namespace memberflow::python
