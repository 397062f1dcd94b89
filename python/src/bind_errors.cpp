// C++ exceptions -> Python. The classes live in memberflow/errors.py (so that they have
// proper Python docstrings and str()); the Python layer hands them to
// _set_error_classes() on import. Until then the standard classes stand in.
#include "bindings.hpp"
#include "memberflow/error.hpp"

namespace memberflow::python {

namespace {
// Leaked on purpose: they must outlive the interpreter's module teardown.
PyObject* error_class = PyExc_RuntimeError;
PyObject* input_error_class = PyExc_ValueError;
PyObject* parameter_error_class = PyExc_ValueError;
PyObject* unknown_id_class = PyExc_KeyError;
}  // namespace

void register_errors(py::module_& m) {
  m.def("_set_error_classes", [](py::object base, py::object input, py::object parameter, py::object unknown) {
    error_class = base.release().ptr();
    input_error_class = input.release().ptr();
    parameter_error_class = parameter.release().ptr();
    unknown_id_class = unknown.release().ptr();
  });
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const unknown_id& e) {
      PyErr_SetString(unknown_id_class, e.what());
    } catch (const input_error& e) {
      PyErr_SetString(input_error_class, e.what());
    } catch (const parameter_error& e) {
      PyErr_SetString(parameter_error_class, e.what());
    } catch (const error& e) {
      PyErr_SetString(error_class, e.what());
    }
  });
}

text_table table_from_columns(const std::string& source, const std::vector<std::string>& names,
                              const std::vector<std::vector<std::string>>& columns, long first_row) {
  if (names.size() != columns.size()) throw input_error(source + ": one list of cells per column name");
  text_table t;
  t.source = source;
  t.noun = "row";
  t.columns = names;
  const auto n = columns.empty() ? 0 : columns[0].size();
  for (const auto& c : columns)
    if (c.size() != n) throw input_error(source + ": columns of different lengths");
  t.rows.resize(n);
  t.lines.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    t.rows[r].reserve(columns.size());
    for (const auto& c : columns) t.rows[r].push_back(c[r]);
    t.lines[r] = first_row + static_cast<long>(r);
  }
  return t;
}

py::dict table_to_columns(const text_table& t) {
  py::dict out;
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    py::list cells(t.rows.size());
    for (std::size_t r = 0; r < t.rows.size(); ++r) cells[r] = py::str(t.rows[r][c]);
    out[py::str(t.columns[c])] = cells;
  }
  return out;
}

}  // namespace memberflow::python
