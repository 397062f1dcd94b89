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

}  // namespace memberflow::python
