#pragma once
// Shared helpers of the binding files: numpy views that borrow C++ memory (no copy;
// the owner is kept alive by the array's base), and text tables from Python columns.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <Eigen/Core>
#include <span>

#include "memberflow/distribution.hpp"
#include "memberflow/scenario.hpp"
#include "memberflow/table.hpp"

namespace memberflow {
class event_log;
}

namespace memberflow::python {

namespace py = pybind11;

// Parameter sets drawn from a fit's predictive distribution (_core.ParameterDraws): what
// the exact mixture and the simulation's parameter_sets take.
struct parameter_draws {
  std::vector<parameter_set> sets;
};

void register_errors(py::module_& m);
// Sets memberflow.UnknownIdError with this message as the pending Python error (for a
// function written against the C API, which cannot throw through the interpreter).
void set_unknown_id_error(const std::string& message);
void register_org(py::module_& m);
void register_pipeline(py::module_& m);
void register_scenario(py::module_& m);
void register_forecast(py::module_& m);
void register_funnel(py::module_& m);
void register_datasets(py::module_& m);
void register_exact(py::module_& m);
void register_simulate(py::module_& m);
void register_history(py::module_& m);
void register_records(py::module_& m);
void register_estimate(py::module_& m);
void register_backtest(py::module_& m);
void register_allocate(py::module_& m);

// The event log inside a memberflow._core.EventLog (bind_records.cpp); input_error if
// `core_log` is not one.
const event_log& core_event_log(py::handle core_log);

// A read-only numpy view of C++ memory owned by `owner`.
template <class T>
py::array_t<T> view(std::span<const T> data, py::handle owner) {
  py::array_t<T> a({static_cast<py::ssize_t>(data.size())}, {static_cast<py::ssize_t>(sizeof(T))}, data.data(), owner);
  py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return a;
}

// A numpy view (Fortran order, as Eigen stores it) of an Eigen array owned by `owner`.
template <class Derived>
py::array_t<double> view(const Eigen::DenseBase<Derived>& a, py::handle owner, bool writeable = false) {
  const auto rows = static_cast<py::ssize_t>(a.rows()), cols = static_cast<py::ssize_t>(a.cols());
  py::array_t<double> out;
  if (a.cols() == 1 && Derived::ColsAtCompileTime == 1)
    out = py::array_t<double>({rows}, {static_cast<py::ssize_t>(sizeof(double))}, a.derived().data(), owner);
  else
    out = py::array_t<double>({rows, cols},
                              {static_cast<py::ssize_t>(sizeof(double)), static_cast<py::ssize_t>(sizeof(double)) * rows},
                              a.derived().data(), owner);
  if (!writeable) py::detail::array_proxy(out.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return out;
}

// An integer argument from Python, range-checked: a bool, float, None or an int outside
// [lo, hi] is an input_error naming the argument (pybind11 would raise a bare TypeError).
template <class T>
T integer_arg(py::handle value, const char* name, T lo, T hi) {
  if (!PyLong_Check(value.ptr()) || PyBool_Check(value.ptr()))
    throw input_error(std::string(name) + " must be an integer, got " +
                      py::str(py::repr(value)).cast<std::string>() + " (" + Py_TYPE(value.ptr())->tp_name + ")");
  const auto v = py::reinterpret_borrow<py::int_>(value);
  if (py::int_(lo) <= v && v <= py::int_(hi)) return v.cast<T>();
  throw input_error(std::string(name) + " must be from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " +
                    py::str(v).cast<std::string>());
}

// A text table from Python: column names and one list of strings per column; `labels`
// (empty, or one per row: a DataFrame's index labels, from _tables.frame_labels) name
// the rows in messages beside their 1-based numbers.
text_table table_from_columns(const std::string& source, const std::vector<std::string>& names,
                              const std::vector<std::vector<std::string>>& columns, long first_row = 1,
                              const std::vector<std::string>& labels = {});
py::dict table_to_columns(const text_table& t);

// The pmfs of every node as flat numpy arrays: offsets, starts (n + 1), one concatenated
// probability vector and tails; the Python layer slices them per node without copies.
py::dict pmfs_to_python(const std::vector<pmf>& nodes);
py::dict pmfs_to_python(const pmf_table& nodes);

}  // namespace memberflow::python
