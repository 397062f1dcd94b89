// C++ exceptions -> Python. The classes are made here, in the compiled module, so that
// an exception raised while the Python layer is still importing (or by a caller of
// _core alone) has its final class; memberflow/errors.py re-exports them. They are
// named memberflow.<Class> (their __module__ is "memberflow"), which is where users and
// pickle (exceptions travelling back from Dask workers) find them.
//
//   memberflow.Error           error            (Exception)
//   memberflow.InputError      input_error      (Error, ValueError)
//   memberflow.ParameterError  parameter_error  (Error, ValueError)
//   memberflow.UnknownIdError  unknown_id       (Error, KeyError; str() without quotes)
//   memberflow.CancelledError  cancelled        (Error, RuntimeError): a run stopped by
//                              its progress callback. Ctrl-C stays KeyboardInterrupt.
#include "bindings.hpp"
#include "memberflow/error.hpp"
#include "memberflow/simulate.hpp"

namespace memberflow::python {

namespace {
// Leaked on purpose: they must outlive the interpreter's module teardown, when a late
// exception may still be translated.
PyObject* error_class = nullptr;
PyObject* input_error_class = nullptr;
PyObject* parameter_error_class = nullptr;
PyObject* unknown_id_class = nullptr;
PyObject* cancelled_class = nullptr;

// A new exception class memberflow.<name> with these bases and docstring, added to m.
PyObject* add_class(py::module_& m, const char* name, const char* doc, py::tuple bases, py::dict members = {}) {
  const std::string qualified = std::string("memberflow.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), members.ptr());
  if (cls == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(cls));  // add_object takes its own reference; ours is leaked
  return cls;
}

// KeyError's str() is the repr of its key ("'unknown unit X'" in quotes); an unknown id's
// message reads as written.
py::object message_as_written() {
  py::cpp_function str([](py::handle self) -> py::str {
    py::tuple args = self.attr("args");
    return args.empty() ? py::str("") : py::str(args[0]);
  });
  return py::reinterpret_steal<py::object>(PyInstanceMethod_New(str.ptr()));
}
}  // namespace

void set_unknown_id_error(const std::string& message) { PyErr_SetString(unknown_id_class, message.c_str()); }

void register_errors(py::module_& m) {
  error_class = add_class(m, "Error", "Base class of every memberflow error.", py::make_tuple(py::handle(PyExc_Exception)));
  py::handle base(error_class);
  input_error_class =
      add_class(m, "InputError", "A malformed file, row or table: duplicate id, cycle, unknown parent, bad number.",
                py::make_tuple(base, py::handle(PyExc_ValueError)));
  parameter_error_class =
      add_class(m, "ParameterError", "A model parameter outside its domain (a probability above 1, advance + exit > 1).",
                py::make_tuple(base, py::handle(PyExc_ValueError)));
  py::dict unknown_members;
  unknown_members["__str__"] = message_as_written();
  unknown_id_class = add_class(m, "UnknownIdError", "A unit, stage, parameter or quantity name that does not exist.",
                               py::make_tuple(base, py::handle(PyExc_KeyError)), unknown_members);
  cancelled_class = add_class(m, "CancelledError",
                              "A simulation stopped by its progress callback (Ctrl-C raises KeyboardInterrupt).",
                              py::make_tuple(base, py::handle(PyExc_RuntimeError)));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const unknown_id& e) {
      PyErr_SetString(unknown_id_class, e.what());
    } catch (const input_error& e) {
      PyErr_SetString(input_error_class, e.what());
    } catch (const parameter_error& e) {
      PyErr_SetString(parameter_error_class, e.what());
    } catch (const cancelled& e) {
      PyErr_SetString(cancelled_class, e.what());
    } catch (const error& e) {
      PyErr_SetString(error_class, e.what());
    }
  });
}

}  // namespace memberflow::python
